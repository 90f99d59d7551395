"""Task set-up and scoring speed of the lm-eval tasks, on a built dataset.

    .venv/bin/python -m benchmarks.eval [--data mmmult-data]

Prints the seconds to set up all six tasks on the test split (loading the Parquet files, media
index, docs) and the milliseconds to extract and score one response.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from dataset_builder.scoring import band_scores, score_response
from dataset_builder.settings import DATA_ENV
from dataset_builder.tasks import MULTIPLY, tasks_of
from mmmult.harness.evaluate import tasks_dir

TASKS = [task.name for task in tasks_of(MULTIPLY)]
RESPONSES = [
    "Step 1: 47 x 30 = 1410\nStep 2: 47 x 6 = 282\nStep 3: 1410 + 282 = 1692\nFinal Answer: 1692",
    "Thus $8004004 \\times 500 = \\boxed{4\\,002\\,002\\,000}$.",
    "The product is eight million four thousand four.",
    "I cannot compute that exactly.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="mmmult-data", help="a complete build (default %(default)s)")
    args = parser.parse_args()
    os.environ[DATA_ENV] = str(Path(args.data).absolute())

    started = time.perf_counter()
    from lm_eval.tasks import TaskManager

    imported = time.perf_counter() - started
    started = time.perf_counter()
    tasks = TaskManager(include_path=str(tasks_dir()), include_defaults=False).load_task_or_group(TASKS)
    docs = {name: list(task.test_docs()) for name, task in tasks.items()}
    setup = time.perf_counter() - started
    print(f"import lm_eval.tasks: {imported:.1f} s (not counted)")
    print(f"set-up of {len(tasks)} tasks, {sum(map(len, docs.values())):,} test docs: {setup:.2f} s")

    sample = [doc for task_docs in docs.values() for doc in task_docs]
    rng = random.Random(0)
    pairs = [(rng.choice(RESPONSES), rng.choice(sample)) for _ in range(20_000)]
    started = time.perf_counter()
    for response, doc in pairs:
        scores = score_response(response, int(doc["product"]))
        band_scores(scores["exact_match"], doc["C"], doc["digit_total"])
    per_sample = (time.perf_counter() - started) / len(pairs)
    print(f"extraction + scoring: {per_sample * 1000:.3f} ms per sample ({len(pairs):,} samples)")


if __name__ == "__main__":
    main()
