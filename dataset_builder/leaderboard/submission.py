"""The submission flow: read the upload, check it, store it or record why not; returns the status text."""

from __future__ import annotations

from pathlib import Path

from .ingest import MAX_UPLOAD_BYTES, Rejected, check, read_upload
from .store import Entry, Store

RATE_LIMIT = 5
RATE_WINDOW_SECONDS = 3600


def submit(
    store: Store,
    reference: dict,
    paths: list[str],
    model: str,
    family: str,
    params_b: float | None,
    open_weights: bool,
    submitter: str,
    link: str | None,
) -> str:
    """Ingest one submission; the returned text is shown to the submitter as plain text."""
    model, family, submitter = model.strip(), family.strip(), submitter.strip()
    missing = [name for name, value in (("model", model), ("family", family), ("submitter", submitter)) if not value]
    if missing:
        return f"rejected: please fill in {', '.join(missing)}"
    if not paths:
        return "rejected: upload the results_*.json and samples_*.jsonl files (or one .zip of the output folder)"
    if store.recent_submissions(submitter, RATE_WINDOW_SECONDS) >= RATE_LIMIT:
        return f"rejected: at most {RATE_LIMIT} submissions per hour per submitter; try again later"
    entry = Entry(model, family, submitter, open_weights, params_b, (link or "").strip() or None)
    try:
        size = sum(Path(p).stat().st_size for p in paths)
        if size > MAX_UPLOAD_BYTES:
            raise Rejected(f"the upload is {size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
        files = [(Path(p).name, Path(p).read_bytes()) for p in paths]
        upload = read_upload(files)
        verdict = check(upload, reference)
    except Rejected as error:
        sid = store.reject(entry, str(error))
        return f"submission #{sid} rejected: {error}"
    sid = store.add(entry, upload, verdict)
    stored = store.submission(sid)
    return f"submission #{sid} {stored['status']}\n{stored['log']}"
