"""Why a worker's run failed, in one line that leads the request's reason: what failed and what to do.

The line comes from the run's log: the first known cause found in it (a model whose files are not
in the worker's cache, a model the Hub does not have, a gated model, memory, a missing API key, a
missing build), else the last exception lm-eval raised, else the exit status. The log's last lines
follow it, so nothing the log said is lost.

>>> cause_line(EvalRequest("org/m", "hf", ("text",)), 1, "OSError: We couldn't connect to 'x' to load the files")
"org/m could not be loaded: its files are not in this worker's local cache and the Hub cannot be reached; \
download it where the worker runs (hf download org/m --revision main) or let the worker reach the Hub"
>>> cause_line(EvalRequest("org/m", "hf", ("text",)), 3, "Traceback (most recent call last):\\nValueError: bad shape")
'mmmult eval of org/m failed with ValueError: bad shape; see the log below'
>>> cause_line(EvalRequest("org/m", "hf", ("text",)), -9, "")
'mmmult eval of org/m was killed (signal 9), most often for want of memory; run it on a worker with more memory'
"""

from __future__ import annotations

import re
import signal

from mmmult.queue.request import EvalRequest

KNOWN_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), line)
    for pattern, line in (
        (
            r"couldn't connect to .* to load|couldn't find them in the cached files|LocalEntryNotFoundError"
            r"|OfflineModeIsEnabled|cannot find the requested files in the local cache",
            "{model} could not be loaded: its files are not in this worker's local cache and the Hub cannot be "
            "reached; download it where the worker runs (hf download {model} --revision {revision}) or let the "
            "worker reach the Hub",
        ),
        (
            r"GatedRepoError|is a gated repo|access to model .* is restricted",
            "{model} is gated: give the worker a token (HF_TOKEN) of an account that was granted access",
        ),
        (
            r"RevisionNotFoundError|is not a valid git identifier",
            "{model} has no revision {revision!r}: request a branch, tag or commit it has",
        ),
        (
            r"RepositoryNotFoundError|is not a local folder and is not a valid model identifier"
            r"|Repo id must be in the form",
            "{model} is not a model this worker can find (no such local folder, no such Hub repo, or a private "
            "one): check the name, or give the worker a token (HF_TOKEN) that can read it",
        ),
        (
            r"CUDA out of memory|OutOfMemoryError",
            "{model} ran out of accelerator memory: request a smaller precision, or give the worker --batch_size 1 "
            "or a larger accelerator",
        ),
        (
            r"OPENAI_API_KEY|api_key client option must be set|no API key",
            "{model} needs an API key the worker does not have: set OPENAI_API_KEY in the workers' environment",
        ),
        (
            r"mmmult: error: (?P<error>.+)",
            "mmmult eval of {model} stopped: {error}",
        ),
    )
)
EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): (?P<message>.+)$", re.MULTILINE)


def cause_line(request: EvalRequest, status: int, log: str) -> str:
    """One line that says what failed and what to do, from the run's exit status and log."""
    for pattern, line in KNOWN_CAUSES:
        found = pattern.search(log)
        if found:
            return line.format(model=request.model, revision=request.revision, **found.groupdict())
    if status < 0:
        memory = (
            ", most often for want of memory; run it on a worker with more memory" if -status == signal.SIGKILL else ""
        )
        return f"mmmult eval of {request.model} was killed (signal {-status}){memory}"
    raised = list(EXCEPTION.finditer(log))
    if raised:
        last = raised[-1]
        return f"mmmult eval of {request.model} failed with {last['type']}: {last['message']}; see the log below"
    return f"mmmult eval of {request.model} exited with status {status}; see the log below"


def failure_reason(request: EvalRequest, status: int, log: str, tail: str) -> str:
    """A failed request's reason: the cause line, then the log's last lines."""
    return f"{cause_line(request, status, log)}\n{tail}".rstrip()
