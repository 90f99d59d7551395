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
import mmmult
from mmmult.harness.evaluate import TASKS_PACKAGE

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (ROOT / "dataset_builder", ROOT / "mmmult")
CORE = ("problems", "numbers", "stimulus", "prompts", "configs", "answers", "scoring", "tasks", "errors", "hub")
HEAVY = ("datasets", "gradio", "lm_eval", "torch", "pandas", "statsmodels")
STAGES = (
    ("dataset_builder",),
    ("dataset_builder.media", "dataset_builder.probe"),
    ("dataset_builder.dataset",),
    ("mmmult", "mmmult.probe_scoring", "mmmult.statistics"),
    ("mmmult.harness",),
    ("mmmult.lm_eval_tasks", "mmmult.adapters"),
    ("mmmult.queue",),
    ("mmmult.leaderboard.intake",),
    ("mmmult.leaderboard.storage",),
    ("mmmult.leaderboard",),
    ("mmmult.leaderboard.display",),
    ("mmmult.cli",),
)
"""Every package folder (and the command line) in the order the dependencies point: each imports only those of
earlier stages or of its own folder. The core first, then the media and the probe's sets, the dataset, what runs
models, the queue, the board's stages, the command line; nothing of dataset_builder imports mmmult."""


def package_modules() -> list[str]:
    """Every module of both packages, the lm-eval task folder (installed under another path) included."""
    names = ["dataset_builder", "mmmult", TASKS_PACKAGE]
    for package in (dataset_builder, mmmult, importlib.import_module(TASKS_PACKAGE)):
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    return names


def test_every_module_of_the_package_imports() -> None:
    modules = package_modules()
    assert {"mmmult.leaderboard.display.app", "mmmult.lm_eval_tasks.utils", "dataset_builder.prompts"} <= set(modules)
    for name in modules:
        importlib.import_module(name)


def module_of(path: Path) -> str:
    if path.parent == ROOT / "eval" / "mmmult":
        return f"{TASKS_PACKAGE}.{path.stem}" if path.stem != "__init__" else TASKS_PACKAGE
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Every module of the two packages this file imports, at any depth of the file (lazy imports count)."""
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
    return {m for m in found if m.split(".")[0] in ("dataset_builder", "mmmult")}


def source_files() -> dict[str, Path]:
    files = {module_of(p): p for package in PACKAGES for p in package.rglob("*.py")}
    return files | {module_of(p): p for p in (ROOT / "eval" / "mmmult").glob("*.py")}


def import_graph() -> dict[str, set[str]]:
    files = source_files()
    return {name: {m for m in imports_of(path, name) if m in files and m != name} for name, path in files.items()}


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "mmmult.harness.reference" in graph["mmmult.harness.evaluate"]
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
        stages = {m for m in graph[f"dataset_builder.{module}"] if m.count(".") > 1 or m.startswith("mmmult")}
        assert not stages, f"dataset_builder.{module} imports {stages}"


def folder_of(module: str, folders: set[str]) -> str:
    """The package folder a module lies in (the command line counts as one of its own)."""
    if module == "mmmult.cli":
        return module
    while module not in folders:
        module = module.rpartition(".")[0]
    return module


def package_graph(graph: dict[str, set[str]]) -> dict[str, dict[str, set[str]]]:
    """Which package folder imports which other, and through which module imports: folder -> folder -> edges."""
    folders = {folder for stage in STAGES for folder in stage} - {"mmmult.cli"}
    edges: dict[str, dict[str, set[str]]] = {}
    for module, imported in graph.items():
        source = folder_of(module, folders)
        for target in imported:
            if (into := folder_of(target, folders)) != source:
                edges.setdefault(source, {}).setdefault(into, set()).add(f"{module} -> {target}")
    return edges


def mutual_imports(edges: dict[str, dict[str, set[str]]]) -> list[str]:
    """Each pair of package folders that import each other, with the module imports that make it."""
    found = []
    for source, targets in edges.items():
        for target, why in targets.items():
            if source < target and source in edges.get(target, {}):
                back = edges[target][source]
                found.append(f"{source} <-> {target}: {sorted(why)[0]}; {sorted(back)[0]}")
    return found


def test_no_two_packages_import_each_other() -> None:
    assert mutual_imports(package_graph(import_graph())) == []


def test_a_pair_of_packages_importing_each_other_would_be_found() -> None:
    graph = {
        "mmmult.queue.worker": {"mmmult.harness.failures"},
        "mmmult.harness.failures": {"mmmult.queue.request"},
        "mmmult.queue.request": set(),
    }
    assert mutual_imports(package_graph(graph)) == [
        "mmmult.harness <-> mmmult.queue: mmmult.harness.failures -> mmmult.queue.request; "
        "mmmult.queue.worker -> mmmult.harness.failures"
    ]


def test_every_dependency_points_to_an_earlier_stage() -> None:
    rank = {folder: i for i, stage in enumerate(STAGES) for folder in stage}
    edges = package_graph(import_graph())
    assert set(edges) <= set(rank), f"folders missing from STAGES: {set(edges) - set(rank)}"
    upward = [
        f"{sorted(why)[0]} (stage {rank[source]} imports stage {rank[target]})"
        for source, targets in edges.items()
        for target, why in targets.items()
        if rank[target] > rank[source]
    ]
    assert upward == []


def test_the_stages_name_every_package_folder() -> None:
    folders = {module_of(p.parent / "__init__.py") for package in PACKAGES for p in package.rglob("__init__.py")}
    assert folders | {TASKS_PACKAGE, "mmmult.cli"} == {folder for stage in STAGES for folder in stage}


def test_importing_the_core_imports_no_heavy_library() -> None:
    code = (
        f"import sys; import {', '.join(f'dataset_builder.{m}' for m in CORE)}; "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == ""


def test_pyproject_lists_every_package_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {module_of(p) for package in PACKAGES for p in package.rglob("__init__.py")}
    mapped = {name: ROOT / path for name, path in config["package-dir"].items()}
    folders |= {name for name, path in mapped.items() if (path / "__init__.py").is_file()}
    assert set(config["packages"]) == folders


def test_the_space_requirements_are_the_space_extra() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["space"]
    lines = [line.strip() for line in (ROOT / "space/requirements.txt").read_text().splitlines()]
    assert sorted(line for line in lines if line and not line.startswith("#")) == sorted(extra)


PATH = re.compile(r"(?<![\w./-])((?:dataset_builder|mmmult|eval|space|tests|benchmarks|scripts|\.ci)/[\w./-]*\w)")


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
    from mmmult.leaderboard.display import texts
    from mmmult.leaderboard.intake.names import MAX_NAME
    from mmmult.leaderboard.intake.upload import MAX_UNPACKED_BYTES, MAX_UPLOAD_BYTES, MAX_ZIP_MEMBERS
    from mmmult.leaderboard.submissions import RATE_LIMIT

    readme = (ROOT / "space" / "README.md").read_text()
    mb = 2**20
    assert f"at most {MAX_UPLOAD_BYTES // mb} MB, unpacking to at most {MAX_UNPACKED_BYTES // mb} MB, " in readme
    assert f"{MAX_ZIP_MEMBERS} files" in readme and f"1 to {MAX_NAME} characters" in readme
    assert f"at most {RATE_LIMIT} accepted\nsubmissions per hour" in readme
    assert f"at most {MAX_UPLOAD_BYTES // mb} MB" in texts.ABOUT and f"at most {RATE_LIMIT} accepted" in texts.SIGN_IN
    assert BIBTEX in texts.ABOUT


def test_the_space_readme_lists_the_leaderboard_s_modules() -> None:
    table = (ROOT / "space" / "README.md").read_text().split("| module | what it holds |")[1].split("\n\n")[0]
    cells = re.findall(r"^\| (.+?) \|", table, re.MULTILINE)
    listed = {name for cell in cells for name in re.findall(r"`(.+?)`", cell)}
    board = ROOT / "mmmult" / "leaderboard"
    modules = {str(p.relative_to(board)) for p in board.rglob("*.py") if p.name != "__init__.py"}
    assert listed == modules
