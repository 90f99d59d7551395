"""A failed run's reason leads with one line saying what failed and what to do, read from its log."""

from __future__ import annotations

import pytest

from mmmult.queue.failures import cause_line, failure_reason
from mmmult.queue.request import EvalRequest

REQUEST = EvalRequest("org/m-7B", "hf", ("text",), revision="v2")
TRACEBACK = 'Traceback (most recent call last):\n  File "lm_eval/models/huggingface.py", line 321, in __init__\n'


@pytest.mark.parametrize(
    ("log", "status", "line"),
    [
        (
            TRACEBACK + "OSError: We couldn't connect to 'https://example.org' to load the files, and couldn't find "
            "them in the cached files.",
            1,
            "org/m-7B could not be loaded: its files are not in this worker's local cache and the Hub cannot be "
            "reached; download it where the worker runs (hf download org/m-7B --revision v2) or let the worker reach "
            "the Hub",
        ),
        (
            TRACEBACK + "huggingface_hub.errors.GatedRepoError: 403 Client Error. Cannot access gated repo for url x",
            1,
            "org/m-7B is gated: give the worker a token (HF_TOKEN) of an account that was granted access",
        ),
        (
            TRACEBACK + "huggingface_hub.errors.RevisionNotFoundError: 404 Client Error. Revision Not Found",
            1,
            "org/m-7B has no revision 'v2': request a branch, tag or commit it has",
        ),
        (
            TRACEBACK + "OSError: org/m-7B is not a local folder and is not a valid model identifier listed on x",
            1,
            "org/m-7B is not a model this worker can find (no such local folder, no such Hub repo, or a private "
            "one): check the name, or give the worker a token (HF_TOKEN) that can read it",
        ),
        (
            TRACEBACK + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
            1,
            "org/m-7B ran out of accelerator memory: request a smaller precision, or give the worker --batch_size 1 "
            "or a larger accelerator",
        ),
        (
            TRACEBACK + "openai.OpenAIError: The api_key client option must be set either by passing api_key to the "
            "client or by setting the OPENAI_API_KEY environment variable",
            1,
            "org/m-7B needs an API key the worker does not have: set OPENAI_API_KEY in the workers' environment",
        ),
        (
            "mmmult: error: no mmmult dataset at 'mmmult-data': build one with `mmmult build --out mmmult-data`",
            2,
            "mmmult eval of org/m-7B stopped: no mmmult dataset at 'mmmult-data': build one with `mmmult build --out "
            "mmmult-data`",
        ),
        (
            TRACEBACK + "KeyError: 'x'\n\nDuring handling of the above exception:\nRuntimeError: the cache is locked",
            1,
            "mmmult eval of org/m-7B failed with RuntimeError: the cache is locked; see the log below",
        ),
        (
            "",
            -9,
            "mmmult eval of org/m-7B was killed (signal 9), most often for want of memory; run it on a worker "
            "with more memory",
        ),
        ("", -15, "mmmult eval of org/m-7B was killed (signal 15)"),
        ("loading...\n", 3, "mmmult eval of org/m-7B exited with status 3; see the log below"),
    ],
    ids=[
        "not cached",
        "gated",
        "no revision",
        "no model",
        "memory",
        "api key",
        "no build",
        "exception",
        "killed",
        "terminated",
        "status",
    ],
)
def test_the_cause_comes_first(log: str, status: int, line: str) -> None:
    assert cause_line(REQUEST, status, log) == line
    assert failure_reason(REQUEST, status, log, "the\nlast lines") == f"{line}\nthe\nlast lines"
