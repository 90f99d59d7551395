"""The package's shape: every module imports, no import cycles, a cheap core, one list of packages."""

from __future__ import annotations

import ast
import graphlib
import importlib
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dataset_builder
from dataset_builder.harness.run import TASKS_PACKAGE

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dataset_builder"
CORE = ("problems", "numbers", "stimulus", "configs", "answers", "scoring", "tasks", "errors", "hub", "cli")
HEAVY = ("datasets", "gradio", "lm_eval", "torch", "pandas", "statsmodels")


def package_modules() -> list[str]:
    """Every module of the package, the lm-eval task folder (installed under another path) included."""
    names = ["dataset_builder", TASKS_PACKAGE]
    names += [info.name for info in pkgutil.walk_packages(dataset_builder.__path__, "dataset_builder.")]
    tasks = importlib.import_module(TASKS_PACKAGE)
    names += [info.name for info in pkgutil.walk_packages(tasks.__path__, f"{TASKS_PACKAGE}.")]
    return names


def test_every_module_of_the_package_imports() -> None:
    modules = package_modules()
    assert {"dataset_builder.leaderboard.display.app", "dataset_builder.harness.lm_eval_tasks.utils"} <= set(modules)
    for name in modules:
        importlib.import_module(name)


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Every dataset_builder module this file imports, at any depth of the file (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m.startswith("dataset_builder")}


def import_graph() -> dict[str, set[str]]:
    files = {module_of(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path, name) if m in files and m != name} for name, path in files.items()}


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "dataset_builder.harness.reference" in graph["dataset_builder.harness.run"]
    try:
        order = list(graph_order(graph))
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
    assert len(order) == len(graph)


def graph_order(graph: dict[str, set[str]]):
    return graphlib.TopologicalSorter(graph).static_order()


def test_a_cycle_would_be_found() -> None:
    with pytest.raises(graphlib.CycleError):
        list(graph_order({"a": {"b"}, "b": {"c"}, "c": {"a"}}))


def test_the_core_imports_no_stage() -> None:
    graph = import_graph()
    for module in CORE:
        stages = {m for m in graph[f"dataset_builder.{module}"] if m.count(".") > 1}
        if module == "cli":  # the command line reaches each stage lazily, inside the command that needs it
            continue
        assert not stages, f"dataset_builder.{module} imports {stages}"


def test_importing_the_core_imports_no_heavy_library() -> None:
    code = (
        f"import sys; import {', '.join(f'dataset_builder.{m}' for m in CORE)}; "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == ""


def test_pyproject_lists_every_package_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {module_of(p) for p in PACKAGE.rglob("__init__.py")}
    mapped = {name: ROOT / path for name, path in config["package-dir"].items()}
    folders |= {name for name, path in mapped.items() if (path / "__init__.py").is_file()}
    assert set(config["packages"]) == folders


def test_the_space_requirements_are_the_space_extra() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["space"]
    lines = [line.strip() for line in (ROOT / "space/requirements.txt").read_text().splitlines()]
    assert sorted(line for line in lines if line and not line.startswith("#")) == sorted(extra)


PATH = re.compile(r"(?<![\w./-])((?:dataset_builder|eval|space|tests|benchmarks|scripts|\.ci)/[\w./-]*\w)")


def named_paths(text: str) -> set[str]:
    """Repository paths named in a text: dataset_builder/..., eval/..., space/..., tests/... and so on."""
    return {m for m in PATH.findall(text) if "*" not in m and "<" not in m}


def test_nothing_names_a_file_that_is_not_in_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    texts = [ROOT / name for name in tracked.split() if name.endswith((".md", ".py", ".toml", ".txt", "run", "yaml"))]
    missing = {}
    for path in texts:
        if not path.is_file():
            continue
        for named in named_paths(path.read_text(errors="replace")):
            if not (ROOT / named).exists() and not (ROOT / named).with_suffix(".py").exists():
                missing.setdefault(str(path.relative_to(ROOT)), []).append(named)
    assert missing == {}


def test_the_path_finder_sees_paths() -> None:
    assert named_paths("see `dataset_builder/tasks.py`, eval/mmmult/utils.py and space/README.md.") == {
        "dataset_builder/tasks.py",
        "eval/mmmult/utils.py",
        "space/README.md",
    }


def test_the_space_s_rules_state_the_constants_that_enforce_them() -> None:
    from dataset_builder.citation import BIBTEX
    from dataset_builder.leaderboard.display import texts
    from dataset_builder.leaderboard.intake.names import MAX_NAME
    from dataset_builder.leaderboard.intake.submission import RATE_LIMIT
    from dataset_builder.leaderboard.intake.upload import MAX_UNPACKED_BYTES, MAX_UPLOAD_BYTES, MAX_ZIP_MEMBERS

    readme = (ROOT / "space" / "README.md").read_text()
    mb = 2**20
    assert f"at most {MAX_UPLOAD_BYTES // mb} MB, unpacking to at most {MAX_UNPACKED_BYTES // mb} MB, " in readme
    assert f"{MAX_ZIP_MEMBERS} files" in readme and f"1 to {MAX_NAME} characters" in readme
    assert f"at most {RATE_LIMIT} accepted\nsubmissions per hour" in readme
    assert f"at most {MAX_UPLOAD_BYTES // mb} MB" in texts.ABOUT and f"at most {RATE_LIMIT} accepted" in texts.SIGN_IN
    assert BIBTEX in texts.ABOUT
