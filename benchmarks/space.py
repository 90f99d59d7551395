"""The leaderboard Space under load: ingest, cold start and refresh, on the default problem set.

    .venv/bin/python -m benchmarks.space [--submissions 200] [--store /tmp/mmmult-space-bench] [--reuse]

Makes lm-eval-shaped submissions (results_*.json + samples_*.jsonl: six multiplication tasks and
one perception task on the 1,519 test problems, 10,633 samples each, answers drawn from a
logistic model of C with a per-model C50), then prints:
- ingest + re-score of one such submission (read, validate, re-score, store with its summary);
- cold start with N stored submissions in a fresh process: Python imports, reading the test
  problems, opening the store and building the app, and the first table (the page a visitor
  first sees); then the first plot, drawn when its tab is opened;
- table and plot refresh: a filter change, a scope change, a plot change, and the first
  table after a new submission (when the cache is invalid).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

from dataset_builder.problems import generate
from dataset_builder.stimulus import stimulus
from dataset_builder.tasks import MULTIPLY, PERCEIVE, TASKS, tasks_of
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.rescore import check
from mmmult.leaderboard.intake.upload import read_upload
from mmmult.leaderboard.storage.store import Entry, Store

FAMILIES = ["Qwen", "Gemma", "Llama", "GPT", "Claude", "Mistral", "Phi", "DeepSeek"]
SUBMITTED = [*(t.name for t in tasks_of(MULTIPLY)), "mmmult_perceive_text_numerals"]


def reference_problems() -> Benchmark:
    """The default build's test problems, as the Space reads them from the `problems` config."""
    return Benchmark({p.problem_id: p.as_dict() for p in generate() if p.split == "test"})


def submission_files(reference: Benchmark, c50: float, seed: int) -> list[tuple[str, bytes]]:
    """One lm-eval output folder's files for a model whose accuracy is logistic in C around `c50`."""
    rng = random.Random(seed)
    results, files = {}, []
    for task in SUBMITTED:
        config = TASKS[task].config
        modality, representation = config.split("-")
        lines, right = [], 0
        for i, problem in enumerate(reference.values()):
            a, b, product = problem["a"], problem["b"], int(problem["product"])
            if TASKS[task].kind is PERCEIVE:
                ok = rng.random() < 0.995
                response = f"Numbers: {a}, {b if ok else b + 1}"
            else:
                ok = rng.random() < 1 / (1 + math.exp(0.05 * (problem["C"] - c50)))
                answer = product if ok else product + rng.randint(1, 999) * 10 ** rng.randint(0, 3)
                response = (
                    f"We multiply {a} by {b}. Split {b} into its digits and add the partial products: "
                    f"{a} x {b} = {answer}. Checking the last digits agrees.\nFinal Answer: {answer}"
                )
            right += ok
            doc = problem | {"representation": representation, "modality": modality,
                             "stimulus": stimulus(a, b, representation)}  # fmt: skip
            filtered = str(answer) if TASKS[task].kind is MULTIPLY else response
            sample = {"doc_id": i, "doc": doc, "target": str(product), "resps": [[response]],
                      "filtered_resps": [filtered], "filter": TASKS[task].filter,
                      "arguments": {"gen_args_0": {"arg_0": doc["stimulus"]}}}  # fmt: skip
            lines.append(json.dumps(sample))
        results[task] = {TASKS[task].headline_key: right / len(reference), "alias": config}
        files.append((f"samples_{task}_2026-11-28T00-00-00.jsonl", "\n".join(lines).encode()))
    header = {"results": results, "versions": dict.fromkeys(TASKS, 1.0), "model_name": f"model-{seed}"}
    return [("results_2026-11-28T00-00-00.json", json.dumps(header).encode()), *files]


def ingest(store: Store, reference: Benchmark, files: list[tuple[str, bytes]], model: str, family: str) -> int:
    upload = read_upload(files)
    return store.add(Entry(model, family, "bench", True, 7.0), upload, check(upload, reference))


COLD_START = """
import sys, time, os
started = time.perf_counter()
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
import gradio
from mmmult.leaderboard.display import app
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.display.plots import accuracy_vs_c
imported = time.perf_counter()
from mmmult.leaderboard.intake.benchmark import Benchmark
reference = Benchmark({{p.problem_id: p.as_dict() for p in __import__("dataset_builder.problems").problems.generate()
              if p.split == "test"}})
loaded = time.perf_counter()
store = Store({db!r})
demo = app.build_app(store, reference)
built = time.perf_counter()
from mmmult.leaderboard.display.board import Board
board = Board(store, reference)
table = board.table()
tabled = time.perf_counter()
ids = list(table["submission_id"])
figure = accuracy_vs_c(board.bins(ids, "text-numerals"), board.fits(ids, "text-numerals"), table, "text-numerals")
plotted = time.perf_counter()
print(imported - started, loaded - imported, built - loaded, tabled - built, plotted - tabled, len(table))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--store", default="/tmp/mmmult-space-bench")
    parser.add_argument("--reuse", action="store_true", help="time cold start and refresh on the store left by a run")
    args = parser.parse_args()
    reference = reference_problems()
    if not args.reuse:
        shutil.rmtree(args.store, ignore_errors=True)
        fill(Store(Path(args.store) / "board.sqlite"), reference, args.submissions)
    store = Store(Path(args.store) / "board.sqlite")
    cold_start(store)
    refresh(store, reference)


def fill(store: Store, reference: Benchmark, submissions: int) -> None:

    files = submission_files(reference, c50=60, seed=0)
    size = sum(len(data) for _, data in files)
    started = time.perf_counter()
    ingest(store, reference, files, "model-0", FAMILIES[0])
    seconds = time.perf_counter() - started
    samples = sum(data.count(b"\n") + 1 for name, data in files if name.startswith("samples_"))
    print(f"ingest + re-score of one submission: {samples} samples, {size / 2**20:.1f} MB: {seconds:.2f} s")

    started = time.perf_counter()
    for i in tqdm(range(1, submissions), desc="storing submissions", unit="submission"):
        model = f"model-{i % 150}"  # some models have several submissions
        ingest(store, reference, submission_files(reference, 20 + 3 * (i % 60), i), model, FAMILIES[i % 8])
    print(f"{submissions} submissions stored: {(time.perf_counter() - started) / max(1, submissions - 1):.2f}"
          f" s each; store {sum(p.stat().st_size for p in store.path.parent.rglob('*')) / 2**20:.0f} MB")  # fmt: skip


def cold_start(store: Store) -> None:
    code = COLD_START.format(db=str(store.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    imports, problems, build, table, plot = (float(v) for v in out[:5])
    submissions = store.counts()["submissions"]
    print(f"cold start with {submissions} submissions ({out[5]} models on the board): imports {imports:.2f} s, "
          f"test problems {problems:.2f} s, app built {build:.2f} s, first table {table:.2f} s; "
          f"first page after {imports + problems + build + table:.2f} s; "
          f"then the first plot {plot:.2f} s (statsmodels imported on first use)")  # fmt: skip


def refresh(store: Store, reference: Benchmark) -> None:
    from mmmult.leaderboard.display.board import Board
    from mmmult.leaderboard.display.columns import DEFAULT_COLUMNS
    from mmmult.leaderboard.display.filters import Filters, filter_table
    from mmmult.leaderboard.display.formatting import shown_columns
    from mmmult.leaderboard.display.plots import accuracy_vs_c
    from mmmult.leaderboard.storage.summary import scope_configs, scope_name

    board = Board(store, reference)
    board.table()

    def timed(label: str, work) -> None:  # noqa: ANN001
        started = time.perf_counter()
        work()
        print(f"{label}: {(time.perf_counter() - started) * 1000:.0f} ms")

    def table_view(filters: Filters) -> None:
        table = board.table(filters.every, filters.modality, filters.representation)
        filter_table(table, filters)[shown_columns(DEFAULT_COLUMNS, filters.modality, filters.representation)]

    def plot(modality: str, representation: str) -> None:  # as the Space's Accuracy vs C tab draws it
        table = board.table(modality=modality, representation=representation)
        ids, scope = list(table["submission_id"]), scope_name(modality, representation)
        accuracy_vs_c(
            board.bins(ids, scope), board.fits(ids, scope), table, ", ".join(scope_configs(modality, representation))
        )

    timed("refresh, search filter", lambda: table_view(Filters(q="model-1", family=("Qwen", "GPT"))))
    image_words = Filters(modality="image", representation="words")
    timed("refresh, new scope (image words, first time)", lambda: table_view(image_words))
    timed("refresh, every submission", lambda: table_view(Filters(every=True)))
    timed("first plot in this process (imports statsmodels), text numerals", lambda: plot("text", "numerals"))
    timed("plot, image words", lambda: plot("image", "words"))
    timed("plot, all audio configs", lambda: plot("audio", "all"))
    ingest(store, reference, submission_files(reference, 80, 999), "model-new", "Qwen")
    timed("refresh after a new submission (cache invalid)", lambda: table_view(Filters()))
    timed("plot after a new submission (cache invalid)", lambda: plot("text", "numerals"))


if __name__ == "__main__":
    main()
