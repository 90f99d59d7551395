"""`./run demo` reuses what is unchanged: the build, and each finished eval of the same build, code and arguments.

The script runs in a copy of itself beside a stand-in `mmmult` that logs its commands and writes what each makes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_MMMULT = """#!/bin/sh
# Logs "COMMAND [OUTPUT]" to $MMMULT_LOG; build writes a manifest, eval a results file.
command=$1 out=
while [ $# -gt 0 ]; do
  case "$1" in --out|--output_path) out=$2 ;; esac
  shift
done
echo "$command $out" | sed 's/ $//' >>"$MMMULT_LOG"
case "$command" in
  build) mkdir -p "$out" && echo "$BUILT" >"$out/manifest.json" ;;
  eval) mkdir -p "$out/model" && echo '{}' >"$out/model/results_2026-12-06.json" ;;
esac
"""

BUILT = '{"configs": {"hds-text": {}, "audio-digits": {}}, "options": {"bounds": {"with_mini": true}}}'
"""A manifest of the demo's build as it is now: the audio configs, and the full build's mini split whole."""
EVALS = [f"eval demo/results/{split}/{run}" for split in ("test", "mini") for run in ("reference", "OT", "DD", "RC")]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder with the run script, a stand-in mmmult in .venv, and one file of code per package."""
    shutil.copy(ROOT / "run", tmp_path / "run")
    for package in ("dataset_builder", "mmmult", "eval"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "code.py").write_text("x = 1\n")
    (tmp_path / ".venv" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (tmp_path / ".venv" / "bin").mkdir()
    fake = tmp_path / ".venv" / "bin" / "mmmult"
    fake.write_text(FAKE_MMMULT)
    fake.chmod(0o755)
    return tmp_path


def demo(checkout: Path) -> list[str]:
    """The mmmult commands one `./run demo` ran."""
    log = checkout / "commands.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "MMMULT_SKIP_SETUP": "1", "MMMULT_LOG": str(log), "GRADIO_SERVER_PORT": "7999", "BUILT": BUILT}
    subprocess.run([str(checkout / "run"), "demo"], env=env, check=True, capture_output=True)
    return log.read_text().splitlines()


def test_a_first_demo_builds_and_runs_every_eval(checkout: Path) -> None:
    assert demo(checkout) == ["build demo/data", *EVALS, "space"]


def test_a_second_demo_reuses_the_build_and_the_finished_runs(checkout: Path) -> None:
    demo(checkout)
    assert demo(checkout) == ["space"]
    assert (checkout / "demo" / "results" / "test" / "reference" / "made-from.txt").read_text().splitlines()[-1] == (
        "arguments --model mmmult-reference --tasks mmmult_text,mmmult_image,mmmult_perceive_text_numerals,"
        "mmmult_perceive_text_words,mmmult_perceive_image_numerals,mmmult_perceive_image_words,mmmult_probe_text,"
        "mmmult_probe_image,mmmult_steps_text,mmmult_hds_text,mmmult_traps_text,mmmult_direct_text,mmmult_direct_image "
        "--log_samples"
    )


def test_another_build_runs_every_eval_again(checkout: Path) -> None:
    demo(checkout)
    (checkout / "demo" / "data" / "manifest.json").write_text(BUILT.replace("{}}", '{}}, "other": 1'))
    assert demo(checkout) == [*EVALS, "space"]


def test_changed_code_runs_every_eval_again(checkout: Path) -> None:
    demo(checkout)
    (checkout / "mmmult" / "code.py").write_text("x = 2\n")
    assert demo(checkout) == [*EVALS, "space"]


def test_a_run_without_results_or_stamp_is_made_again(checkout: Path) -> None:
    demo(checkout)
    shutil.rmtree(checkout / "demo" / "results" / "test" / "OT" / "model")
    (checkout / "demo" / "results" / "mini" / "DD" / "made-from.txt").unlink()
    assert demo(checkout) == ["eval demo/results/test/OT", "eval demo/results/mini/DD", "space"]


@pytest.mark.parametrize(
    "manifest",
    ['{"configs": {"hds-text": {}, "audio-digits": {}}}', '{"configs": {"hds-text": {}}, "options": {"bounds": '
     '{"with_mini": true}}}'],
    ids=["without-the-mini-split", "without-audio"],
)  # fmt: skip
def test_a_build_from_before_the_published_runs_is_made_again(checkout: Path, manifest: str) -> None:
    (checkout / "demo" / "data").mkdir(parents=True)
    (checkout / "demo" / "data" / "manifest.json").write_text(manifest)
    assert demo(checkout) == ["build demo/data", *EVALS, "space"]
