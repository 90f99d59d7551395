"""Full default build, config by config, with the figures issue #2 asks for.

    .venv/bin/python -m benchmarks.build [--out DIR] [--num-proc 2] [--limit N]

Prints seconds and items/s per config, seconds per image and per clip next to the engines' own
cost (Pillow drawing alone, espeak-ng alone), peak memory and the size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from dataset_builder.configs import CONFIG_NAMES, CONFIGS
from dataset_builder.dataset.pipeline import MANIFEST, BuildOptions, build
from dataset_builder.media.codec import AudioCodec
from dataset_builder.media.image import ImageRenderer
from dataset_builder.media.speech import EspeakNG
from dataset_builder.problems import Bounds, generate
from dataset_builder.stimulus import stimulus

ENGINE_SAMPLE = 200


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_memory_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, workers


def engine_costs() -> dict[str, float]:
    """Seconds per item of the bare engines on a random sample of the default set."""
    sample = random.Random(0).sample(generate(), ENGINE_SAMPLE)
    renderer, espeak = ImageRenderer.default(), EspeakNG()
    costs = {}
    for representation in ("numerals", "words"):
        sentences = [stimulus(p.a, p.b, representation) for p in sample]
        started = time.perf_counter()
        for sentence in sentences:
            renderer.render(sentence)
        costs[f"image-{representation}: Pillow draw + PNG"] = (time.perf_counter() - started) / len(sentences)
    for representation in ("words", "digits"):
        sentences = [stimulus(p.a, p.b, representation) for p in sample[:50]]
        started = time.perf_counter()
        clips = [espeak.synthesize(sentence) for sentence in sentences]
        synthesis = time.perf_counter() - started
        costs[f"audio-{representation}: espeak-ng + resample"] = synthesis / len(sentences)
        for codec in (AudioCodec(), AudioCodec("flac")):
            started = time.perf_counter()
            for clip in clips:
                codec.encode(clip)
            costs[f"audio-{representation}: {codec.name} encode"] = (time.perf_counter() - started) / len(sentences)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="keep the builds here (default: a temporary folder)")
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--limit", type=int, help="build a sample of this many problems instead of all 10,125")
    args = parser.parse_args()

    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mmmult-bench-"))
    bounds = Bounds(limit=args.limit)
    rows, total_seconds = [], 0.0
    for name in CONFIG_NAMES:
        out = root / name
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        build(out, BuildOptions(configs=(name,), bounds=bounds, num_proc=args.num_proc))
        seconds = time.perf_counter() - started
        total_seconds += seconds
        items = json.loads((out / MANIFEST).read_text())["num_problems"]
        rows.append((name, CONFIGS[name].modality or "-", items, seconds, folder_size(out)))

    print(f"\nbuild of {rows[0][2]:,} problems per config, --num-proc {args.num_proc}, in {root}")
    print(f"{'config':16} {'modality':8} {'items':>7} {'seconds':>8} {'items/s':>8} {'s/item':>8} {'MB':>8}")
    for name, modality, items, seconds, size in rows:
        rate, per_item = items / seconds, seconds / items
        print(f"{name:16} {modality:8} {items:7,} {seconds:8.1f} {rate:8.1f} {per_item:8.4f} {size / 1e6:8.1f}")
    total_size = sum(r[4] for r in rows)
    own, workers = peak_memory_mb()
    print(f"total: {total_seconds:.1f} s ({total_seconds / 60:.1f} min), {total_size / 1e6:.1f} MB on disk")
    print(f"peak resident memory: main process {own:.0f} MB, largest worker {workers:.0f} MB")
    print("\nengine cost alone (one process), seconds per item:")
    for label, cost in engine_costs().items():
        print(f"  {label:42} {cost:.4f}")
    if not args.out:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
