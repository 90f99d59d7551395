"""The Space as the Hub deploys it: `mmmult space deploy --out`, installed from its requirements.txt alone."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.commands import assert_user_error, mmmult

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("datasets", "lm_eval", "torch", "av", "soundfile")


@pytest.fixture(scope="module")
def space_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deploy") / "space"
    result = mmmult("space", "deploy", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def front_matter(readme: Path) -> dict:
    _, header, _ = readme.read_text().split("---", 2)
    return yaml.safe_load(header)


def test_the_folder_holds_the_space_and_the_package_it_imports(space_folder: Path) -> None:
    top = sorted(p.name for p in space_folder.iterdir())
    assert top == ["README.md", "app.py", "dataset_builder", "mmmult", "requirements.txt", "results"]
    core = {p.name for p in (space_folder / "dataset_builder").iterdir()}
    board = {p.name for p in (space_folder / "mmmult").iterdir()}
    assert {"tasks.py", "probe"} <= core and not {"dataset", "media"} & core
    assert board == {"__init__.py", "leaderboard", "probe_scoring", "queue", "statistics"}
    assert (space_folder / "app.py").read_text() == (ROOT / "space/app.py").read_text()
    published = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "results").rglob("*") if p.is_file())
    assert sorted(p.relative_to(space_folder).as_posix() for p in (space_folder / "results").rglob("*")
                  if p.is_file()) == published  # fmt: skip


def test_the_front_matter_is_one_the_hub_accepts(space_folder: Path) -> None:
    meta = front_matter(space_folder / "README.md")
    assert (meta["sdk"], meta["app_file"]) == ("gradio", "app.py")
    assert 0 < len(meta["short_description"]) <= 60
    assert "leaderboard" in meta["tags"]
    wanted = [r for r in (space_folder / "requirements.txt").read_text().split() if r.startswith("gradio")]
    assert wanted == ["gradio>=6.31"] and tuple(map(int, meta["sdk_version"].split("."))) >= (6, 31)


def test_the_folder_imports_its_own_copy_and_nothing_heavy(space_folder: Path) -> None:
    code = (
        "import sys; import mmmult.leaderboard.display.app as app, dataset_builder; "
        f"print(dataset_builder.__file__, app.__file__); print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=space_folder, check=True)
    where, heavy = result.stdout.split("\n")[:2]
    assert all(Path(path).is_relative_to(space_folder) for path in where.split())
    assert heavy == "[]"


def test_deploy_refuses_a_folder_that_holds_something(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("mine")
    assert_user_error(mmmult("space", "deploy", "--out", str(tmp_path)), "is not an empty folder")


def test_deploy_needs_a_destination() -> None:
    assert_user_error(mmmult("space", "deploy"), "--out DIR to write it, --repo-id USER/NAME to upload it")


def test_deploy_checks_the_repo_id_and_the_network_before_uploading(tmp_path: Path) -> None:
    assert_user_error(mmmult("space", "deploy", "--repo-id", "bad"), "needs an owner: use USER/NAME")
    result = mmmult("space", "deploy", "--repo-id", "me/board", env={"HF_HUB_OFFLINE": "1"})
    assert_user_error(result, "HF_HUB_OFFLINE is set")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_on_all_interfaces(port: int) -> bool:
    """Whether a socket listens on 0.0.0.0:port (Linux: /proc/net/tcp lists addresses in hex)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(row.split()[1] == f"00000000:{port:04X}" and row.split()[3] == "0A" for row in rows)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_the_deployed_space_installs_from_its_requirements_and_serves(
    space_folder: Path, small_build: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [venv / "bin/pip", "install", "-q", "-r", "requirements.txt"],
        cwd=space_folder, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "MMMULT_DATA": str(small_build),
        "MMMULT_SPACE_DB": str(tmp_path / "store/board.sqlite"),
    }
    server = subprocess.Popen(
        [venv / "bin/python", "app.py"], cwd=space_folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while not listening_on_all_interfaces(port):
            assert server.poll() is None, server.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the Space did not start listening within two minutes"
            time.sleep(0.5)
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            expect(page.get_by_role("tab", name="Leaderboard")).to_be_visible(timeout=60_000)
            expect(page.locator("body")).to_contain_text("mmmult leaderboard", timeout=60_000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.mark.slow
def test_mmmult_eval_runs_from_a_wheel_with_its_task_folder(small_build: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("mmmult-*.whl")
    installed = tmp_path / "site"
    shutil.unpack_archive(wheel, installed, format="zip")
    run = tmp_path / "run"
    run.mkdir()
    env = {"PYTHONPATH": str(installed), "MMMULT_DATA": str(small_build)}
    args = ("eval", "--model", "mmmult-reference", "--tasks", "mmmult_text_numerals", "--limit", "3")
    result = mmmult(*args, "--output_path", str(run / "out"), "--log_samples", env=env, cwd=str(run))
    assert result.returncode == 0, result.stderr[-3000:]
    (results,) = (run / "out").rglob("results_*.json")
    config = json.loads(results.read_text())["configs"]["mmmult_text_numerals"]
    assert config["dataset_kwargs"]["config"] == "text-numerals"
    assert "--include_path" not in result.stderr
    where = subprocess.run(
        [sys.executable, "-c", "from mmmult.harness.evaluate import tasks_dir; print(tasks_dir())"],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=run, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(installed)


@pytest.mark.slow
def test_the_stated_setuptools_floor_builds_the_wheel_and_the_release_below_it_does_not(tmp_path: Path) -> None:
    """pyproject's build-system floor is true: the wheel builds with exactly that setuptools, not with 76.1."""
    (requirement,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    floor = requirement.removeprefix("setuptools>=")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for version, builds in ((floor, True), ("76.1.0", False)):
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "-q", f"setuptools=={version}"], check=True, capture_output=True)
        built = subprocess.run(
            [*pip, "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", str(tmp_path / version), str(ROOT)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert (built.returncode == 0) is builds, built.stderr[-2000:]
        assert builds or "project.license" in built.stderr  # 76.1 fails on the licence expression, not elsewhere
