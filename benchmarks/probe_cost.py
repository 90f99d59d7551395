"""What the loss probe costs per item on a vision-language model: shared-context scoring versus one
full forward pass per continuation (what lm-eval does for a multiple-choice request, one at a time).

    .venv/bin/python -m benchmarks.probe_cost                 # a tiny random LLaVA, 10 items, CPU
    .venv/bin/python -m benchmarks.probe_cost --items 40 --size 256

Renders real stimuli with the dataset's image renderer, asks for the 13 continuations of the probe's
bank after each image, and counts vision-encoder passes (a forward hook on the vision tower),
forward passes of the whole model, and seconds per item, for both ways. It also prints the largest
difference between the two ways' log-likelihoods (they compute the same numbers). The target is
at least 5x fewer vision-encoder passes than one request at a time.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from lm_eval.api.instance import Instance
from PIL import Image

from dataset_builder.media.image import ImageRenderer
from dataset_builder.probe.sets import generate_hds
from dataset_builder.stimulus import stimulus
from mmmult.harness import repaired
from mmmult.harness.evaluate import register_repaired_models
from mmmult.probe_scoring.scores import PROBE_CHOICES
from tests.models import tiny_vlm


class Counter:
    """Counts calls of a module through a forward hook."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.calls = 0
        module.register_forward_hook(self.hook)

    def hook(self, *_: object) -> None:
        self.calls += 1


def one_at_a_time(lm: Any, requests: list[Instance]) -> list[float]:  # noqa: ANN401
    """One full forward pass over image + context + continuation per request, as lm-eval runs them."""
    scores = []
    for request in requests:
        context, continuation, media = request.args
        whole = lm.tok_batch_multimodal_encode([context + continuation], [media["visual"]])
        alone = lm.tok_batch_multimodal_encode([context], [media["visual"]])
        with torch.no_grad():
            logprobs = torch.log_softmax(lm.model(**whole).logits[0].float(), dim=-1)
        ids, start = whole["input_ids"][0], alone["input_ids"].shape[1]
        scores.append(sum(float(logprobs[t - 1, ids[t]]) for t in range(start, len(ids))))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10, help="probe items (default %(default)s)")
    parser.add_argument("--size", type=int, default=56, help="the tiny model's image size in pixels (default 56)")
    args = parser.parse_args()
    import lm_eval.models  # noqa: F401

    register_repaired_models()
    from lm_eval.api.registry import get_model

    with tempfile.TemporaryDirectory() as folder:
        lm = get_model(repaired("hf-multimodal"))(pretrained=str(tiny_vlm(Path(folder), args.size)), device="cpu")
    vision = Counter(lm.model.model.vision_tower)
    whole_model = Counter(lm.model)
    renderer = ImageRenderer.default()
    requests = []
    for item in generate_hds(size=args.items):
        image = Image.open(io.BytesIO(renderer.render(stimulus(item.a, item.b, "numerals"))))
        media = {"visual": [image.convert("RGB")]}
        requests += [
            Instance("loglikelihood", {}, ("<image>", " " + p, media), i) for i, (_, p) in enumerate(PROBE_CHOICES)
        ]

    lm.loglikelihood(requests[: len(PROBE_CHOICES)], disable_tqdm=True)  # warm up before timing
    rows = []
    for name, run in (("shared context", lambda: [ll for ll, _ in lm.loglikelihood(requests, disable_tqdm=True)]),
                      ("one pass per continuation", lambda: one_at_a_time(lm, requests))):  # fmt: skip
        vision.calls = whole_model.calls = 0
        started = time.perf_counter()
        scores = run()
        seconds = time.perf_counter() - started
        rows.append((name, vision.calls / args.items, whole_model.calls / args.items, seconds / args.items, scores))
    print(f"{args.items} items x {len(PROBE_CHOICES)} continuations, tiny LLaVA ({args.size} px), CPU")
    print(f"{'method':28} {'vision passes/item':>19} {'forward passes/item':>20} {'s/item':>8}")
    for name, vision_passes, passes, seconds, _ in rows:
        print(f"{name:28} {vision_passes:19.1f} {passes:20.1f} {seconds:8.3f}")
    (_, v_shared, _, s_shared, shared), (_, v_each, _, s_each, each) = rows
    print(f"vision-encoder passes: {v_each / v_shared:.1f}x fewer; time: {s_each / s_shared:.1f}x less")
    gap = max(abs(a - b) for a, b in zip(shared, each, strict=True))
    print(f"largest log-likelihood difference between the two: {gap:.2e}")


if __name__ == "__main__":
    main()
