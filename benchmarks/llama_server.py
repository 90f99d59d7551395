"""llama.cpp's own server and batched bench: the batched CPU engine of benchmarks/engine.py and real_models.py.

    scripts/install-llama-server        # builds llama-server, llama-batched-bench, llama-bench into .venv/llama.cpp

The tools are llama.cpp as llama-cpp-python 0.3.36's sdist vendors it (commit 0c1e570), built for this CPU.
llama-cpp-python's own server answers one request at a time (one Llama object behind a lock);
llama-server decodes several requests together: `--parallel N` slots, each with `slot_context`
tokens of the KV cache, and continuous batching (`--cont-batching`: a request joins the running
batch as soon as a slot frees, instead of waiting for the batch to drain). A client that keeps N
requests in flight (lm-eval's `num_concurrent=N`, the cascade's) keeps every slot busy.

Weight repacking stays on (llama.cpp's default). It once crashed the first decode here, and the cause
is the compiler, not the CPU: ggml built for a CPU that reports AMX (this project's machine, an Intel
Xeon with amx_int8 and amx_tile) puts the quantised weights in AMX buffers and multiplies prompts with
AMX tiles, configured once per thread by `ggml_tile_config_init` (ggml-cpu/amx/mmq.cpp). GCC 12.2
(Debian 12's) drops the stores that fill that configuration before `ldtilecfg` (RTL dead-store
elimination: `-fno-dse` keeps them), so the tiles are configured from whatever the stack held and the
first tile load of the first prompt faults (`tileloadd` in tinygemm_kernel_amx: SIGILL in llama-bench,
a segmentation fault in llama-server's warm-up and, before, in llama-cpp-python's server). A standalone
AMX tile multiply gives the right product on this machine, so the instructions themselves work.
scripts/install-llama-server puts a compiler barrier before that `ldtilecfg` (one line); the patched
build runs, and its greedy log-probabilities agree with --no-repack's to within 0.1 nats.
`EngineOptions(repack=False)` (llama.cpp's --no-repack) remains for comparison.

Tools are looked up in `folder`, then $MMMULT_LLAMA_CPP, then .venv/llama.cpp, then PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dataset_builder.errors import UserError

TOOLS_ENV = "MMMULT_LLAMA_CPP"
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / ".venv" / "llama.cpp"
INSTALL_HINT = (
    "scripts/install-llama-server (builds llama.cpp from llama-cpp-python's sdist; about 16 minutes on 2 cores)"
)
START_S = 300
LOG_TAIL_LINES = 15


class EngineError(UserError):
    """The engine is missing, refused its options or stopped; the message says which and shows its log's tail."""


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs: CPU threads, parallel slots and the KV cache of each slot, in tokens."""

    threads: int
    slots: int
    slot_context: int = 2048
    repack: bool = True

    def __post_init__(self) -> None:
        for name, least in (("threads", 1), ("slots", 1), ("slot_context", 64)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < least:
                raise EngineError(f"the engine's {name} must be a whole number of at least {least}, not {value!r}")

    @property
    def context(self) -> int:
        """The whole KV cache, shared out among the slots (llama-server's --ctx-size)."""
        return self.slots * self.slot_context


def find_tool(name: str, folder: Path | None = None) -> Path:
    """The llama.cpp tool `name` (llama-server, llama-batched-bench, llama-bench), or an EngineError saying where
    it was looked for and how to install it."""
    places = [folder] if folder is not None else []
    if os.environ.get(TOOLS_ENV):
        places.append(Path(os.environ[TOOLS_ENV]))
    places.append(DEFAULT_FOLDER)
    for place in places:
        if (place / name).is_file() and os.access(place / name, os.X_OK):
            return place / name
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    looked = ", ".join(str(place) for place in places)
    raise EngineError(f"llama.cpp's {name} is not installed (looked in {looked} and PATH): run {INSTALL_HINT}")


def server_command(binary: Path, gguf: Path, alias: str, port: int, options: EngineOptions) -> list[str]:
    """llama-server on 127.0.0.1:`port` with `options.slots` slots, continuous batching and /metrics.

    No prompt cache in RAM (`--cache-ram 0`): a run that sends the prompts of an earlier run does their work
    again, so each run's figures are its own; a slot still reuses the prefix it holds."""
    return [
        str(binary), "--model", str(gguf), "--alias", alias, "--host", "127.0.0.1", "--port", str(port),
        "--threads", str(options.threads), "--threads-batch", str(options.threads),
        "--parallel", str(options.slots), "--cont-batching", "--ctx-size", str(options.context),
        "--cache-ram", "0", "--metrics", "--no-webui", *([] if options.repack else ["--no-repack"]),
    ]  # fmt: skip


def bench_command(binary: Path, gguf: Path, options: EngineOptions, prompt: int, generated: int) -> list[str]:
    """llama-batched-bench: `options.slots` sequences of `prompt` prompt tokens and `generated` new ones, decoded
    together at the engine's threads (one JSON line of figures)."""
    if prompt < 1 or generated < 1:
        raise EngineError(f"the bench needs at least one prompt and one generated token, not {prompt} and {generated}")
    return [
        str(binary), "--model", str(gguf), "--threads", str(options.threads), "--threads-batch", str(options.threads),
        "--ctx-size", str(options.slots * (prompt + generated)), "--batch-size", "2048", "--ubatch-size", "512",
        "-npp", str(prompt), "-ntg", str(generated), "-npl", str(options.slots), "--output-format", "jsonl",
        *([] if options.repack else ["--no-repack"]),
    ]  # fmt: skip


@dataclass(frozen=True)
class BenchRow:
    """One llama-batched-bench measurement: `parallel` sequences of `prompt` + `generated` tokens."""

    prompt: int
    generated: int
    parallel: int
    prompt_s: float
    generate_s: float

    @property
    def total_s(self) -> float:
        return self.prompt_s + self.generate_s

    @property
    def generated_per_s(self) -> float:
        """New tokens per second of the whole job, prompts included: what a server of these requests can give."""
        return self.parallel * self.generated / self.total_s

    @property
    def decode_per_s(self) -> float:
        """New tokens per second of the decoding alone (batched-bench's S_TG)."""
        return self.parallel * self.generated / self.generate_s


def parse_batched_bench(text: str) -> list[BenchRow]:
    """The measurements in llama-batched-bench's output, JSON lines (--output-format jsonl) or its Markdown table.

    >>> parse_batched_bench('| 128 | 32 | 4 | 640 | 1.000 | 512.00 | 2.000 | 64.00 | 3.000 | 213.33 |')
    [BenchRow(prompt=128, generated=32, parallel=4, prompt_s=1.0, generate_s=2.0)]
    """
    rows = []
    for line in map(str.strip, text.splitlines()):
        if line.startswith("{") and '"speed_tg"' in line:
            row = json.loads(line)
            rows.append(BenchRow(row["pp"], row["tg"], row["pl"], row["t_pp"], row["t_tg"]))
        elif line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if len(cells) == 10 and cells[0].isdigit():
                rows.append(BenchRow(int(cells[0]), int(cells[1]), int(cells[2]), float(cells[4]), float(cells[6])))
    return rows


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log, indented, for an error message."""
    if not path.is_file():
        return "    (no log)"
    text = path.read_text(errors="replace").rstrip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text) or "    (empty log)"


def run_bench(gguf: Path, options: EngineOptions, prompt: int, generated: int, log: Path,
              folder: Path | None = None) -> BenchRow:  # fmt: skip
    """llama-batched-bench's measurement of `options.slots` sequences of this shape (its output kept in `log`)."""
    command = bench_command(find_tool("llama-batched-bench", folder), gguf, options, prompt, generated)
    with log.open("w") as stream:
        result = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, check=False)
    rows = parse_batched_bench(log.read_text(errors="replace"))
    if result.returncode != 0 or not rows:
        raise EngineError(
            f"llama-batched-bench failed (status {result.returncode}) on {gguf}; the end of its log {log}:\n"
            f"{log_tail(log)}"
        )
    return rows[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    """True once llama-server answers /health with 200 (it answers 503 while it loads the model)."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextlib.contextmanager
def serve(gguf: Path, alias: str, options: EngineOptions, log: Path, folder: Path | None = None,
          start_s: float = START_S) -> Iterator[str]:  # fmt: skip
    """llama-server on a free local port, stopped on exit: its root URL (the OpenAI API is under /v1).

    A server that stops or does not answer within `start_s` seconds is an EngineError showing its log's tail."""
    if not gguf.is_file():
        raise EngineError(f"no model file at {gguf}: install it first (mmmult/harness/weights.py)")
    binary = find_tool("llama-server", folder)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stream:
        server = subprocess.Popen(server_command(binary, gguf, alias, port, options), stdout=stream,
                                  stderr=subprocess.STDOUT)  # fmt: skip
    try:
        while not _ready(url):
            if server.poll() is not None:
                raise EngineError(
                    f"llama-server stopped with status {server.returncode} before answering; the end of its log "
                    f"{log}:\n{log_tail(log)}"
                )
            if time.perf_counter() - started > start_s:
                raise EngineError(f"llama-server did not answer within {start_s:.0f} s; the end of its log {log}:\n"
                                  f"{log_tail(log)}")  # fmt: skip
            time.sleep(0.25)
        yield url
    finally:
        _stop(server)


def parse_metrics(text: str) -> dict[str, float]:
    """llama-server's /metrics (Prometheus text) as {name without the llamacpp: prefix: value}.

    >>> parse_metrics('# TYPE llamacpp:tokens_predicted_total counter\\nllamacpp:tokens_predicted_total 1.5e+03\\n')
    {'tokens_predicted_total': 1500.0}
    """
    values = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:"):
            name, _, value = line.partition(" ")
            values[name.removeprefix("llamacpp:")] = float(value)
    return values


def metrics(url: str) -> dict[str, float]:
    """The server's counters now (it must run with --metrics, as `serve` starts it)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        return parse_metrics(response.read().decode())
