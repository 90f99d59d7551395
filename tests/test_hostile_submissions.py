"""A corpus of malformed and hostile submissions: each is refused with its reason and nothing reaches the board.

Every case goes through the submit flow a Space runs (files written to disk, the form as typed),
and must come back as "rejected: <reason naming the problem>", with a rejected record in the
store and no task result or item added.
"""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from mmmult.leaderboard.intake import upload as upload_module
from mmmult.leaderboard.intake.benchmark import Benchmark
from mmmult.leaderboard.intake.upload import Rejected, read_upload
from mmmult.leaderboard.storage.store import Store
from mmmult.leaderboard.submissions import Form, submit
from tests.simulate import DATE, lm_eval_files, right

TASKS = ("mmmult_text_numerals", "mmmult_text_words", "mmmult_perceive_text_numerals")
RESULTS = f"results_{DATE}.json"
NUMERALS = f"samples_mmmult_text_numerals_{DATE}.jsonl"
WORDS = f"samples_mmmult_text_words_{DATE}.jsonl"
FORM = Form("some-model", "Test", "7", True, "tester", "https://example.org/run")
Files = list[tuple[str, bytes]]


def parts(files: Files) -> tuple[dict, dict[str, list]]:
    results = json.loads(dict(files)[RESULTS])
    samples = {n: [json.loads(line) for line in d.splitlines()] for n, d in files if n.endswith(".jsonl")}
    return results, samples


def assemble(results: object, samples: dict[str, list]) -> Files:
    files = [(RESULTS, results if isinstance(results, bytes) else json.dumps(results).encode())]
    for name, lines in samples.items():
        body = b"".join(line if isinstance(line, bytes) else json.dumps(line).encode() + b"\n" for line in lines)
        files.append((name, body))
    return files


def results_edit(edit: Callable[[dict], object]) -> Callable[[Files], Files]:
    """Change the results in place (what `edit` returns is ignored)."""

    def apply(files: Files) -> Files:
        results, samples = parts(files)
        edit(results)
        return assemble(results, samples)

    return apply


def results_replaced(make: Callable[[dict], object]) -> Callable[[Files], Files]:
    """Replace the results file with what `make` returns (bytes, or a value to write as JSON)."""
    return lambda files: (lambda results, samples: assemble(make(results), samples))(*parts(files))


def declared(task: str, alias: str, config: str) -> Callable[[Files], Files]:
    """lm-eval's record of how it ran `task` (results.json's configs): its alias and the config it loaded."""
    record = {task: {"task": task, "task_alias": alias, "dataset_kwargs": {"config": config}}}
    return results_edit(lambda r: r.__setitem__("configs", record))


def sample_edit(edit: Callable[[dict], object], name: str = NUMERALS) -> Callable[[Files], Files]:
    """Change the first sample of text-numerals (or of `name`) in place."""

    def apply(files: Files) -> Files:
        results, samples = parts(files)
        edit(samples[name][0])
        return assemble(results, samples)

    return apply


def line_replaced(make: Callable[[dict], bytes]) -> Callable[[Files], Files]:
    """Replace the first sample line of text-numerals with the bytes `make` returns for it."""

    def apply(files: Files) -> Files:
        results, samples = parts(files)
        samples[NUMERALS][0] = make(samples[NUMERALS][0])
        return assemble(results, samples)

    return apply


def doc_edit(key: str, value: object) -> Callable[[Files], Files]:
    return sample_edit(lambda s: s["doc"].__setitem__(key, value))


def raw_line(raw: bytes) -> Callable[[Files], Files]:
    return line_replaced(lambda s: raw)


def encrypted_zip(files: Files) -> Files:
    """A zip of the run whose members are flagged as encrypted, in the local and central headers."""
    data = bytearray(zipped(*files))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            data[at + flag_at] |= 0x1
            at = data.find(signature, at + 4)
    return [("run.zip", bytes(data))]


def zipped(*members: tuple[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def as_zip(transform: Callable[[Files], list[tuple[str, bytes]]]) -> Callable[[Files], Files]:
    return lambda files: [("run.zip", zipped(*transform(files)))]


def patched_zip(files: Files, patch: Callable[[zipfile.ZipInfo], None]) -> Files:
    """A zip of the run whose first member's header is changed by `patch` (its attributes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, data) in enumerate(files):
            info = zipfile.ZipInfo(f"out/{name}")
            info.compress_type = zipfile.ZIP_DEFLATED
            if i == 0:
                patch(info)
            archive.writestr(info, data)
    return [("run.zip", buffer.getvalue())]


def damaged_deflate(member: int, where: float, value: int | None) -> Callable[[Files], Files]:
    """A zip of the run whose central directory is intact but one member's deflate stream is damaged: the byte at
    `where` (a share of its compressed length) set to `value`, or with `value` None the stream cut there (its
    compressed size rewritten in both headers; the bytes past it are left where they were)."""

    def damage(files: Files) -> Files:
        data = bytearray(zipped(*[(f"out/{n}", d) for n, d in files]))
        info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[member]
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        at = start + min(int(info.compress_size * where), info.compress_size - 1)
        if value is not None:
            data[at] = value if data[at] != value else value ^ 0xFF
            return [("run.zip", bytes(data))]
        local = info.header_offset
        central = data.find(data[local + 4 : local + 18], data.find(b"PK\x01\x02")) - 6  # the same fields
        assert data[central : central + 4] == b"PK\x01\x02"
        for size_at in (local + 18, central + 20):  # the compressed size, in the local and the central header
            data[size_at : size_at + 4] = (at - start).to_bytes(4, "little")
        return [("run.zip", bytes(data))]

    return damage


DEFLATE_DAMAGE = {
    f"member {member} {label}": (damaged_deflate(member, where, value), f"member 'out/{name}' is corrupt")
    for member, name in enumerate((RESULTS, NUMERALS, WORDS))
    for label, where, value in (
        ("with an invalid block type", 0.0, 0xFF),
        ("with a stored block of wrong length", 0.0, 0x00),
        ("with a bad byte a third in", 1 / 3, 0x5A),
        ("with a bad byte two thirds in", 2 / 3, 0xA5),
        ("with a bad byte near the end", 0.95, 0x00),
        ("cut in half", 0.5, None),
    )
}
"""Archive faults that zlib reports (zlib.error, EOFError) or that only the CRC reveals: each names its member."""


def corrupt_zip(files: Files) -> Files:
    data = bytearray(zipped(*[(f"out/{n}", d) for n, d in files], compression=zipfile.ZIP_STORED))
    at = data.find(b'"results"')
    data[at : at + 9] = b'"resulXs"'  # the stored bytes no longer match their CRC
    return [("run.zip", bytes(data))]


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


UPLOAD_CASES: dict[str, tuple[Callable[[Files], Files], str]] = {
    # the results file, wrong types at every level
    "results null": (
        results_edit(lambda r: r.__setitem__("results", None)),
        "field results: input should be a valid dict",
    ),
    "results a list": (
        results_edit(lambda r: r.__setitem__("results", [1, 2])),
        "field results: input should be a valid",
    ),
    "results a string": (
        results_edit(lambda r: r.__setitem__("results", "x")),
        "field results: input should be a valid",
    ),
    "results empty": (results_edit(lambda r: r.__setitem__("results", {})), "field results: dictionary should have"),
    "task entry a number": (
        results_edit(lambda r: r["results"].__setitem__("mmmult_text_words", 5)),
        "field results.mmmult_text_words: input should be a valid dict",
    ),
    "metric a list": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", [1])),
        "field results.mmmult_text_words.exact_match,final-integer",
    ),
    "versions a list": (results_edit(lambda r: r.__setitem__("versions", [1.0])), "field versions: input should be"),
    "version missing": (results_edit(lambda r: r["versions"].pop("mmmult_text_words")), "is version None"),
    "version a string": (
        results_edit(lambda r: r["versions"].__setitem__("mmmult_text_words", "1.0")),
        "mmmult_text_words is version 1.0; this board takes version 1.0",
    ),
    "old version": (results_edit(lambda r: r["versions"].__setitem__("mmmult_text_words", 0.9)), "is version 0.9"),
    "model_name a list": (results_edit(lambda r: r.__setitem__("model_name", ["x"])), "field model_name"),
    "results top level a list": (results_replaced(lambda r: [r]), "field the top level: input should be a valid"),
    "results not JSON": (results_replaced(lambda r: b"{results: }"), "is not valid JSON"),
    "results empty file": (results_replaced(lambda r: b""), "is not valid JSON"),
    "results not UTF-8": (results_replaced(lambda r: b'{"results": "\xff\xfe"}'), "is not UTF-8 text"),
    "results with a 5001-digit number": (
        results_replaced(lambda r: json.dumps(r).replace('"date": 1764374400.0', '"date": ' + "9" * 5001).encode()),
        "a number of 5,001 digits",
    ),
    "results nested 100k deep": (results_replaced(lambda r: deep(100_000)), "nested too deeply"),
    "results with Infinity": (
        results_replaced(lambda r: json.dumps(r).replace("1764374400.0", "Infinity").encode()),
        "Infinity is not a number lm-eval writes here",
    ),
    "results with 1e999": (
        results_replaced(lambda r: json.dumps(r).replace("1764374400.0", "1e999").encode()),
        "out of range",
    ),
    # claimed metrics
    "headline missing": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].pop("exact_match,final-integer")),
        "mmmult_text_words: results.json reports exact_match None, not a share from 0 to 1",
    ),
    "headline N/A": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", "N/A")),
        "reports exact_match 'N/A', not a share",
    ),
    "headline NaN": (
        results_edit(
            lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", float("nan"))
        ),
        "reports exact_match nan, not a share from 0 to 1",
    ),
    "headline inflated over 1": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", 1.5)),
        "reports exact_match 1.5, not a share from 0 to 1",
    ),
    "headline negative": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", -0.1)),
        "not a share from 0 to 1",
    ),
    "headline true": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", True)),
        "field results.mmmult_text_words.exact_match,final-integer",
    ),
    "headline doctored": (
        results_edit(lambda r: r["results"]["mmmult_text_words"].__setitem__("exact_match,final-integer", 0.5)),
        "reports exact_match 0.5 but its samples score 1.000000",
    ),
    # tasks
    "unknown task": (
        results_edit(lambda r: r["results"].__setitem__("gsm8k", r["results"].pop("mmmult_text_words"))),
        "unknown task(s) gsm8k",
    ),
    "only a group": (
        results_edit(lambda r: r.__setitem__("results", {"mmmult": {"exact_match,final-integer": 1.0}})),
        "results.json holds no mmmult task",
    ),
    "samples of an unreported task": (
        results_edit(lambda r: r["results"].pop("mmmult_text_words")),
        "samples for task(s) mmmult_text_words that results.json does not report",
    ),
    "unknown samples task": (
        lambda f: [*f, (f"samples_gsm8k_{DATE}.jsonl", b"{}\n")],
        "samples for task(s) gsm8k that results.json does not report",
    ),
    # lm-eval's own record of a task (results.json's configs) against the task table: a task has one regime
    "a worked task run as the direct regime": (
        declared("mmmult_text_numerals", "direct-text-numerals", "text-numerals"),
        "mmmult_text_numerals: results.json says it ran the direct regime (task_alias 'direct-text-numerals'), but "
        "mmmult_text_numerals is a task of the worked regime",
    ),
    "a worked task under an alias of no task of its config": (
        declared("mmmult_text_numerals", "text-numerals-cot", "text-numerals"),
        "mmmult_text_numerals: results.json names it 'text-numerals-cot', not 'text-numerals'",
    ),
    "a task run on another config": (
        declared("mmmult_text_words", "text-words", "image-words"),
        "mmmult_text_words: results.json says it ran config 'image-words', but mmmult_text_words is the text-words "
        "task",
    ),
    "configs a list": (results_edit(lambda r: r.__setitem__("configs", [1])), "field configs: input should be"),
    # sample lines, wrong types at every level
    "line a list": (raw_line(b"[1, 2]\n"), f"{NUMERALS}, line 1, field the top level: input should be a valid"),
    "line null": (raw_line(b"null\n"), "line 1, field the top level"),
    "line a string": (raw_line(b'"Final Answer: 1"\n'), "line 1, field the top level"),
    "line not JSON": (raw_line(b"{doc: 1}\n"), f"{NUMERALS}, line 1 is not valid JSON"),
    "line not UTF-8": (raw_line(b'{"doc": "\xc3\x28"}\n'), "line 1 is not UTF-8 text"),
    "line nested 100k deep": (raw_line(deep(100_000) + b"\n"), "line 1 is nested too deeply"),
    "line of 3 MB": (raw_line(b'{"pad": "' + b"x" * 3 * 2**20 + b'"}\n'), "line 1 is over 2 MB"),
    "doc a list": (sample_edit(lambda s: s.__setitem__("doc", [1])), "line 1, field doc: input should be a valid"),
    "doc missing": (sample_edit(lambda s: s.pop("doc")), "line 1, field doc: field required (got nothing)"),
    "a in words": (doc_edit("a", "four"), "line 1, field doc.a: input should be a valid integer (got str)"),
    "a a float": (doc_edit("a", 47.0), "field doc.a: input should be a valid integer (got float)"),
    "a of 5001 digits": (
        line_replaced(lambda s: json.dumps(s).replace(f'"a": {s["doc"]["a"]}', '"a": ' + "9" * 5001).encode() + b"\n"),
        "line 1: a number of 5,001 digits",
    ),
    "NaN in a doc": (
        line_replaced(lambda s: json.dumps(s).replace(f'"C": {s["doc"]["C"]}', '"C": NaN').encode() + b"\n"),
        "line 1: NaN is not a number lm-eval writes here",
    ),
    "Infinity in a doc": (
        line_replaced(lambda s: json.dumps(s).replace(f'"C": {s["doc"]["C"]}', '"C": -Infinity').encode() + b"\n"),
        "-Infinity is not a number lm-eval writes here",
    ),
    "problem_id a number": (doc_edit("problem_id", 7), "field doc.problem_id: input should be a valid string"),
    "problem_id of 10k characters": (doc_edit("problem_id", "p" * 10_000), "field doc.problem_id: string should have"),
    "modality missing": (sample_edit(lambda s: s["doc"].pop("modality")), "field doc.modality: field required"),
    "resps a number": (sample_edit(lambda s: s.__setitem__("resps", 5)), "field resps: input should be a valid list"),
    "resps an object": (
        sample_edit(lambda s: s.__setitem__("resps", {"a": 1})),
        "field resps: input should be a valid list",
    ),
    "resps empty": (sample_edit(lambda s: s.__setitem__("resps", [])), "field resps: list should have at least 1"),
    "resps holding an empty list": (sample_edit(lambda s: s.__setitem__("resps", [[]])), "field resps.0: list should"),
    "resps holding a number": (
        sample_edit(lambda s: s.__setitem__("resps", [[5]])),
        "field resps.0.0: input should be",
    ),
    "a response of 300k characters": (
        sample_edit(lambda s: s.__setitem__("resps", [["9 " * 150_000]])),
        "field resps.0.0: string should have at most 200000 characters",
    ),
    "target a list": (sample_edit(lambda s: s.__setitem__("target", [1])), "field target: input should be"),
    "doc_id negative": (sample_edit(lambda s: s.__setitem__("doc_id", -1)), "field doc_id: input should be greater"),
    "doc_id a string": (sample_edit(lambda s: s.__setitem__("doc_id", "0")), "field doc_id: input should be a valid"),
    # samples against the benchmark
    "unknown problem": (doc_edit("problem_id", "p99999"), "problem 'p99999' is not in this benchmark's test split"),
    "changed a": (sample_edit(lambda s: s["doc"].__setitem__("a", s["doc"]["a"] + 1)), "has a "),
    "changed b": (sample_edit(lambda s: s["doc"].__setitem__("b", s["doc"]["b"] + 1)), "has b "),
    "changed product": (
        sample_edit(lambda s: s["doc"].__setitem__("product", s["doc"]["product"] + 1)),
        "has product ",
    ),
    "changed target": (sample_edit(lambda s: s.__setitem__("target", "7")), "the target of problem"),
    "changed stimulus": (
        doc_edit("stimulus", "What is 2 times 2?"),
        "but mmmult_text_numerals asks it as text-numerals",
    ),
    "changed modality": (doc_edit("modality", "image"), "was asked as image numerals"),
    "changed response": (
        sample_edit(lambda s: s.__setitem__("resps", [["Final Answer: 7"]])),
        "reports exact_match 1.0 but its samples score",
    ),
    "duplicated sample": (
        lambda f: (lambda r, s: assemble(r, {**s, NUMERALS: [*s[NUMERALS], s[NUMERALS][0]]}))(*parts(f)),
        "appears twice in the samples of mmmult_text_numerals",
    ),
    "missing sample": (
        lambda f: (lambda r, s: assemble(r, {**s, NUMERALS: s[NUMERALS][1:]}))(*parts(f)),
        "test problems have no sample: run without --limit",
    ),
    "numerals relabelled as words": (
        lambda f: (lambda r, s: assemble(r, {**s, WORDS: s[NUMERALS]}))(*parts(f)),
        "was asked as text numerals",
    ),
    "text relabelled as an image task": (
        lambda f: (
            lambda r, s: assemble(
                {
                    **r,
                    "results": {"mmmult_image_numerals": r["results"]["mmmult_text_numerals"]},
                    "versions": {"mmmult_image_numerals": 1.0},
                },
                {f"samples_mmmult_image_numerals_{DATE}.jsonl": s[NUMERALS]},
            )
        )(*parts(f)),
        "was asked as text numerals ('What is",
    ),
    # files and archives
    "a text file": (lambda f: [*f, ("notes.txt", b"hi")], "notes.txt: only .json, .jsonl and .zip files"),
    "not a zip": (lambda f: [("run.zip", b"PK\x03\x04 but not a zip")], "run.zip is not a valid zip file"),
    "no files": (lambda f: [], "files: upload the results_*.json and samples_*.jsonl files"),
    "no results file": (lambda f: f[1:], "expected exactly one results_*.json from lm-eval, found 0"),
    "two results files": (
        lambda f: [*f, (f"results_{DATE.replace('00-00-00', '11-11-11')}.json", f[0][1])],
        "expected exactly one results_*.json from lm-eval, found 2",
    ),
    "two samples files for one task": (
        lambda f: [*f, (NUMERALS.replace("00-00-00", "11-11-11"), dict(f)[NUMERALS])],
        "two samples files for mmmult_text_numerals: upload one run at a time",
    ),
    "two runs in one zip with the same names": (
        as_zip(lambda f: [(f"a/{n}", d) for n, d in f] + [(f"b/{n}", d) for n, d in f]),
        f"two files are named {RESULTS}: upload one run at a time",
    ),
    "a parent path in a zip": (as_zip(lambda f: [(f"../{n}", d) for n, d in f]), "has an absolute or parent path"),
    "an absolute path in a zip": (as_zip(lambda f: [(f"/tmp/{n}", d) for n, d in f]), "has an absolute or parent path"),
    "a backslash path in a zip": (
        as_zip(lambda f: [(f"..\\\\{n}", d) for n, d in f]),
        "has an absolute or parent path",
    ),
    "an odd name in a zip": (
        as_zip(lambda f: [(f"out put\u202e/{n}", d) for n, d in f]),
        "has a name lm-eval does not write",
    ),
    "a control character in a zip name": (as_zip(lambda f: [(f"out\x1b[31m/{n}", d) for n, d in f]), "has a name"),
    "a nested zip": (lambda f: [("run.zip", zipped(("inner.zip", zipped(*f))))], "is a zip inside the zip"),
    "a program in a zip": (as_zip(lambda f: [*f, ("run.py", b"print(1)")]), "is not a .json or .jsonl file"),
    "300 members": (
        as_zip(lambda f: [*f, *((f"extra/x{i}.json", b"{}") for i in range(300))]),
        "holds 304 files; the limit is 200",
    ),
    "a symbolic link in a zip": (
        lambda f: patched_zip(f, lambda i: setattr(i, "external_attr", (stat.S_IFLNK | 0o777) << 16)),
        "is a symbolic link",
    ),
    "an encrypted member": (
        encrypted_zip,
        "is encrypted; zip the files without a password",
    ),
    "bzip2 compression": (
        lambda f: [("run.zip", zipped(*f, compression=zipfile.ZIP_BZIP2))],
        "uses compression method 12",
    ),
    "lzma compression": (
        lambda f: [("run.zip", zipped(*f, compression=zipfile.ZIP_LZMA))],
        "uses compression method 14",
    ),
    "a corrupt member": (corrupt_zip, "is corrupt (BadZipFile); zip the files again"),
    **DEFLATE_DAMAGE,
}

NAME_CASES: dict[str, tuple[Form, str]] = {
    **{
        f"model {label}": (Form(value, "Test", submitter="tester"), "model: use letters, digits, space and ._-/:+()")
        for label, value in {
            "script": "<script>alert(1)</script>",
            "img onerror": "<img src=x onerror=alert(1)>",
            "javascript": "javascript:alert(1)//<",
            "markdown link": "[click](https://evil.example)",
            "a href": '<a href="https://evil.example">x</a>',
            "100k characters": "m" * 100_000,
            "RLO": "model\u202eevil",
            "NUL": "model\x00",
            "ANSI": "model\x1b[31m",
            "newline": "model\nsecond line",
            "zero-width space only": "\u200b",
            "formula": '=HYPERLINK("https://evil.example","x")',
            "only punctuation": "...",
            "101 characters": "m" * 101,
        }.items()
    },
    **{
        f"family {label}": (Form("m", value, submitter="tester"), "family: use letters, digits")
        for label, value in {
            "a href": '<a href="https://e.example">Qwen</a>',
            "tab": "Qwen\tx",
            "emoji": "Qwen 🙂",
        }.items()
    },
    "empty model": (Form("", "Test", submitter="tester"), "model: please fill it in"),
    "blank family": (Form("m", "   ", submitter="tester"), "family: please fill it in"),
    "hostile submitter": (Form("m", "Test", submitter="<b>me</b>"), "submitter: use letters"),
    **{
        f"link {label}": (Form("m", "Test", submitter="t", link=value), "link: an http:// or https:// address")
        for label, value in {
            "javascript": "javascript:alert(1)",
            "ftp": "ftp://example.org/x",
            "with a space": "https://example.org/a b",
            "1000 characters": "https://example.org/" + "a" * 1000,
            "no host": "https://",
            "data": "data:text/html,<script>alert(1)</script>",
        }.items()
    },
    **{
        f"params {label}": (Form("m", "Test", value, submitter="t"), "parameters: ")
        for label, value in {
            "words": "seven",
            "negative": "-5",
            "zero": "0",
            "nan": "nan",
            "1e999": "1e999",
            "too many": "100001",
        }.items()
    },
}


def paths_of(files: Files, folder: Path) -> list[str]:
    folder.mkdir()
    for name, data in files:
        (folder / name).write_bytes(data)
    return [str(folder / name) for name, _ in files]


def assert_refused(store: Store, message: str, reason: str) -> None:
    assert message.startswith("submission #") and " rejected: " in message, message
    assert reason.lower() in message.lower(), message
    counts = store.counts()
    assert (counts["task_results"], counts["items"], counts["load_cells"], counts["files"]) == (0, 0, 0, 0)
    (row,) = [store.submission(sid) for sid in range(1, counts["submissions"] + 1)]
    assert row["status"] == "rejected" and reason.lower() in row["log"].lower()


def test_the_corpus_is_large() -> None:
    assert len(UPLOAD_CASES) + len(NAME_CASES) >= 100


def test_the_unedited_run_is_accepted(run_files: Files, reference: Benchmark, store: Store, tmp_path: Path) -> None:
    assert submit(store, reference, paths_of(run_files, tmp_path / "up"), FORM).startswith("submission #1 re-scored")


@pytest.mark.parametrize("case", sorted(UPLOAD_CASES))
def test_a_bad_upload_is_refused_with_its_reason(
    case: str, run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    make, reason = UPLOAD_CASES[case]
    message = submit(store, reference, paths_of(make(run_files), tmp_path / "up"), FORM)
    assert_refused(store, message, reason)


@pytest.mark.parametrize("case", sorted(NAME_CASES))
def test_a_bad_form_is_refused_with_the_rule(
    case: str, run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    form, reason = NAME_CASES[case]
    message = submit(store, reference, paths_of(run_files, tmp_path / "up"), form)
    assert_refused(store, message, reason)
    row = store.submission(1)
    assert "<" not in row["model"] + row["family"] + row["submitter"]  # a refused name is not kept


def test_an_oversize_upload_is_refused_before_it_is_read(
    run_files: Files, reference: Benchmark, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload_module, "MAX_UPLOAD_BYTES", 1000)
    message = submit(store, reference, paths_of(run_files, tmp_path / "up"), FORM)
    assert_refused(store, message, "the limit is 0 MB")


@pytest.mark.parametrize("lie", [False, True])
def test_a_zip_bomb_is_stopped_at_the_unpack_limit(
    lie: bool, run_files: Files, reference: Benchmark, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """6 MB of zeros against a 4 MB limit; with `lie`, the header declares 1 KB (so its CRC check fails)."""
    monkeypatch.setattr(upload_module, "MAX_UNPACKED_BYTES", 4 * 2**20)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in run_files:
            archive.writestr(name, data)
        archive.writestr("out/padding.json", b"0" * 6 * 2**20)
    data = buffer.getvalue()
    if lie:  # rewrite the declared uncompressed size of the last member, in its local and central headers
        size = (6 * 2**20).to_bytes(4, "little")
        data = data.replace(size, (1024).to_bytes(4, "little"))
    message = submit(store, reference, paths_of([("run.zip", data)], tmp_path / "up"), FORM)
    reason = "is corrupt" if lie else "the upload unpacks to more than 4 MB"
    assert_refused(store, message, reason)


def test_no_damage_to_a_zip_escapes_as_anything_but_a_refusal(run_files: Files) -> None:
    """Seeded random damage anywhere in a zip of the run (bytes changed, the file cut, bytes inserted): each
    archive is read or refused with a reason, never a zlib, struct or seek error from inside zipfile."""
    archive = zipped(*[(f"out/{name}", data) for name, data in run_files])
    rng = random.Random(19)
    outcomes = Counter()
    for _ in range(1500):
        data = bytearray(archive)
        kind = rng.random()
        if kind < 0.7:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind < 0.85:
            data = data[: rng.randrange(len(data))]
        else:
            at = rng.randrange(len(data))
            data[at:at] = rng.randbytes(rng.randint(1, 20))
        try:
            read_upload([("run.zip", bytes(data))])
            outcomes["read"] += 1
        except Rejected as error:
            outcomes["corrupt member" if "is corrupt (" in str(error) else "refused"] += 1
    assert outcomes["corrupt member"] > 100 and outcomes["refused"] > 100, outcomes


def test_an_absurd_answer_is_scored_wrong_and_the_run_is_stored(
    reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    first = next(iter(reference))

    def respond(task, problem):
        return "Final Answer: " + "9" * 5000 if problem["problem_id"] == first else right(task, problem)

    files = lm_eval_files(reference, TASKS, respond)
    message = submit(store, reference, paths_of(files, tmp_path / "up"), FORM)
    assert message.startswith("submission #1 re-scored"), message
    scores = {t["task"]: t["score"] for t in store_rows(store)}
    assert scores["mmmult_text_numerals"] == pytest.approx(1 - 1 / len(reference))


def test_a_task_whose_config_the_board_lacks_is_refused(
    run_files: Files, reference: Benchmark, store: Store, tmp_path: Path
) -> None:
    text_only = Benchmark(dict(reference), ("text-words", "image-words"))
    message = submit(store, text_only, paths_of(run_files, tmp_path / "up"), FORM)
    assert_refused(store, message, "this board's benchmark has no config for mmmult_text_numerals")


def store_rows(store: Store) -> list[dict]:
    with store.connect() as db:
        return [dict(row) for row in db.execute("SELECT task, score FROM task_results")]
