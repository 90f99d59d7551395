"""The batched CPU engine's plumbing (benchmarks/llama_server.py, benchmarks/engine.py) without a real model: tool
look-up, command lines, a server that fails or hangs, the bench's and the server's outputs as recorded from
llama.cpp's tools. The real runs are benchmarks/engine.py's."""

from __future__ import annotations

import stat
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import engine, llama_server
from benchmarks.llama_server import BenchRow, EngineError, EngineOptions
from mmmult.harness.weights import MODELS

# llama-batched-bench's output (Gemma 3 270M Q4_K_M, -npp 64 -ntg 16 -npl 4, 1 thread), as a table and a JSON line.
BENCH_TABLE = """
|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|
|    64 |     16 |    4 |    320 |    0.641 |   399.41 |    0.818 |    78.21 |    1.459 |   219.29 |
"""
BENCH_JSONL = (
    '{"n_kv_max": 1024, "n_batch": 2048, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 0, "n_gpu_layers": -1, '
    '"n_threads": 1, "n_threads_batch": 1, "pp": 64, "tg": 16, "pl": 4, "n_kv": 320, "t_pp": 0.572958, '
    '"speed_pp": 446.804138, "t_tg": 0.660652, "speed_tg": 96.874001, "t": 1.233610, "speed": 259.401276}\n'
)
METRICS = """# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 1200
llamacpp:prompt_tokens_cached_total 3.5e+03
llamacpp:tokens_predicted_total 640
llamacpp:n_decode_total 200
llamacpp:requests_processing 0
llamacpp:n_busy_slots_per_decode 3.2
"""


def executable(path: Path, text: str) -> Path:
    """A Python script at `path`, runnable as a stand-in for one of llama.cpp's tools."""
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(text))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No llama.cpp tool anywhere: an empty default folder, no $MMMULT_LLAMA_CPP, a PATH without them."""
    monkeypatch.setattr(llama_server, "DEFAULT_FOLDER", tmp_path / "none")
    monkeypatch.delenv(llama_server.TOOLS_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    return tmp_path


def test_a_missing_tool_names_where_it_was_looked_for_and_the_install_script(no_tools: Path) -> None:
    with pytest.raises(EngineError) as error:
        llama_server.find_tool("llama-server")
    assert str(error.value) == (
        f"llama.cpp's llama-server is not installed (looked in {no_tools / 'none'} and PATH): run "
        "scripts/install-llama-server (builds llama.cpp from llama-cpp-python's sdist; about 16 minutes on 2 cores)"
    )


def test_tools_are_found_in_the_given_folder_then_the_environment(no_tools: Path, monkeypatch) -> None:
    given, configured = no_tools / "given", no_tools / "configured"
    for folder in (given, configured):
        folder.mkdir()
        executable(folder / "llama-server", "")
    monkeypatch.setenv(llama_server.TOOLS_ENV, str(configured))
    assert llama_server.find_tool("llama-server", given) == given / "llama-server"
    assert llama_server.find_tool("llama-server") == configured / "llama-server"
    (configured / "llama-bench").write_text("not executable")
    with pytest.raises(EngineError, match="llama-bench is not installed"):
        llama_server.find_tool("llama-bench")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((2, 0), "the engine's slots must be a whole number of at least 1, not 0"),
        ((0, 4), "the engine's threads must be a whole number of at least 1, not 0"),
        ((2, 4, 32), "the engine's slot_context must be a whole number of at least 64, not 32"),
    ],
)
def test_engine_options_refuse_what_llama_cpp_cannot_run(arguments: tuple[int, ...], message: str) -> None:
    with pytest.raises(EngineError) as error:
        EngineOptions(*arguments)
    assert str(error.value) == message


def test_the_server_command_has_the_slots_continuous_batching_and_metrics() -> None:
    command = llama_server.server_command(
        Path("/x/llama-server"), Path("/m/g.gguf"), "gemma", 8123, EngineOptions(2, 4)
    )
    assert command == [
        "/x/llama-server", "--model", "/m/g.gguf", "--alias", "gemma", "--host", "127.0.0.1", "--port", "8123",
        "--threads", "2", "--threads-batch", "2", "--parallel", "4", "--cont-batching", "--ctx-size", "8192",
        "--cache-ram", "0", "--metrics", "--no-webui",
    ]  # fmt: skip
    without = llama_server.server_command(Path("s"), Path("g"), "a", 1, EngineOptions(1, 1, 512, repack=False))
    assert without[-1] == "--no-repack" and without[without.index("--ctx-size") + 1] == "512"


def test_the_bench_command_matches_the_servers_threads_and_slots() -> None:
    command = llama_server.bench_command(Path("/x/llama-batched-bench"), Path("/m/g.gguf"), EngineOptions(2, 4), 64, 16)
    assert command == [
        "/x/llama-batched-bench", "--model", "/m/g.gguf", "--threads", "2", "--threads-batch", "2",
        "--ctx-size", "320", "--batch-size", "2048", "--ubatch-size", "512", "-npp", "64", "-ntg", "16", "-npl", "4",
        "--output-format", "jsonl",
    ]  # fmt: skip
    with pytest.raises(EngineError, match="at least one prompt and one generated token, not 64 and 0"):
        llama_server.bench_command(Path("b"), Path("g"), EngineOptions(2, 4), 64, 0)


@pytest.mark.parametrize(
    ("output", "row", "figures"),
    [
        (BENCH_TABLE, BenchRow(64, 16, 4, 0.641, 0.818), (43.87, 78.24)),  # 4 x 16 tokens in 1.459 s, in 0.818 s
        (BENCH_JSONL, BenchRow(64, 16, 4, 0.572958, 0.660652), (51.88, 96.87)),
    ],
)
def test_the_bench_output_is_read_as_tables_and_json_lines(output: str, row: BenchRow, figures: tuple) -> None:
    assert llama_server.parse_batched_bench(output) == [row]
    assert (round(row.generated_per_s, 2), round(row.decode_per_s, 2)) == figures


def test_the_servers_metrics_are_read() -> None:
    assert llama_server.parse_metrics(METRICS) == {
        "prompt_tokens_total": 1200.0, "prompt_tokens_cached_total": 3500.0, "tokens_predicted_total": 640.0,
        "n_decode_total": 200.0, "requests_processing": 0.0, "n_busy_slots_per_decode": 3.2,
    }  # fmt: skip


def test_a_bench_that_fails_shows_its_logs_tail(tmp_path: Path) -> None:
    executable(
        tmp_path / "llama-batched-bench", "import sys\nprint('loading model')\nprint('error: bad magic')\nsys.exit(1)\n"
    )
    gguf = tmp_path / "g.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(EngineError) as error:
        llama_server.run_bench(gguf, EngineOptions(2, 4), 64, 16, tmp_path / "bench.log", tmp_path)
    assert str(error.value) == (
        f"llama-batched-bench failed (status 1) on {gguf}; the end of its log {tmp_path / 'bench.log'}:\n"
        "    loading model\n    error: bad magic"
    )


def test_a_bench_that_runs_gives_its_last_row(tmp_path: Path) -> None:
    executable(tmp_path / "llama-batched-bench", f"print({BENCH_JSONL!r})\n")
    row = llama_server.run_bench(tmp_path / "g.gguf", EngineOptions(2, 4), 64, 16, tmp_path / "b.log", tmp_path)
    assert row == BenchRow(64, 16, 4, 0.572958, 0.660652)


def test_a_server_that_stops_shows_its_logs_tail(tmp_path: Path) -> None:
    executable(tmp_path / "llama-server", "import sys\nprint('gguf_init: invalid magic')\nsys.exit(1)\n")
    gguf = tmp_path / "g.gguf"
    gguf.write_bytes(b"GGUF")
    with (
        pytest.raises(EngineError) as error,
        llama_server.serve(gguf, "m", EngineOptions(1, 1), tmp_path / "s.log", tmp_path),
    ):
        pass
    assert str(error.value) == (
        f"llama-server stopped with status 1 before answering; the end of its log {tmp_path / 's.log'}:\n"
        "    gguf_init: invalid magic"
    )


def test_a_server_that_never_answers_is_stopped_with_its_logs_tail(tmp_path: Path) -> None:
    executable(tmp_path / "llama-server", "import time\nprint('loading', flush=True)\ntime.sleep(60)\n")
    gguf = tmp_path / "g.gguf"
    gguf.write_bytes(b"GGUF")
    options = EngineOptions(1, 1)
    with pytest.raises(EngineError) as error, llama_server.serve(gguf, "m", options, tmp_path / "s.log", tmp_path, 1):
        pass
    assert str(error.value) == (
        f"llama-server did not answer within 1 s; the end of its log {tmp_path / 's.log'}:\n    loading"
    )


def test_a_missing_model_file_is_named_before_any_server_starts(tmp_path: Path) -> None:
    absent, options = tmp_path / "absent.gguf", EngineOptions(1, 1)
    with (
        pytest.raises(EngineError, match=f"no model file at {absent}: install it first"),
        llama_server.serve(absent, "m", options, tmp_path / "s.log", tmp_path),
    ):
        pass


FAKE_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

METRICS = {metrics!r}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"{{}}" if self.path == "/health" else METRICS.encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[sys.argv.index("--port") + 1])), Handler).serve_forever()
"""


def test_a_server_that_answers_is_served_read_and_stopped(tmp_path: Path) -> None:
    executable(tmp_path / "llama-server", FAKE_SERVER.format(metrics=METRICS))
    gguf = tmp_path / "g.gguf"
    gguf.write_bytes(b"GGUF")
    with llama_server.serve(gguf, "m", EngineOptions(1, 1), tmp_path / "s.log", tmp_path) as url:
        assert url.startswith("http://127.0.0.1:")
        assert llama_server.metrics(url)["tokens_predicted_total"] == 640.0
    with pytest.raises(OSError):
        llama_server.metrics(url)


def test_a_runs_window_and_counters_come_from_the_servers_polls() -> None:
    before = {"tokens_predicted_total": 100.0, "prompt_tokens_total": 50.0, "prompt_tokens_cached_total": 0.0,
              "n_decode_total": 10.0, "n_busy_slots_per_decode": 1.0, "requests_processing": 0.0}  # fmt: skip
    busy = before | {"requests_processing": 4.0}
    moved = busy | {"tokens_predicted_total": 400.0, "prompt_tokens_total": 450.0}
    after = {"tokens_predicted_total": 740.0, "prompt_tokens_total": 850.0, "prompt_tokens_cached_total": 2000.0,
             "n_decode_total": 210.0, "n_busy_slots_per_decode": 3.0, "requests_processing": 0.0}  # fmt: skip
    samples = [(1.0, before), (2.0, busy), (3.0, moved), (4.0, after), (5.0, after)]
    window = engine.summarise(before, samples, after, requests=16, wall_s=20.0)
    assert window == engine.Window(requests=16, generated=640.0, prompt=800.0, cached=2000.0, decodes=200.0,
                                   busy_slots=3.1, active_s=2.2, wall_s=20.0)  # fmt: skip
    assert (round(window.generated_per_s, 1), round(window.items_per_s, 2)) == (290.9, 7.27)


def test_each_client_keeps_as_many_requests_in_flight_as_there_are_slots() -> None:
    qwen, gemma = MODELS["qwen2.5-coder-0.5b"], MODELS["gemma-3-270m"]
    assert engine.client_model("lm-eval", qwen, "http://h:1", 4, 52, 2048) == (
        "local-chat-completions",
        "model=qwen2.5-coder-0.5b,base_url=http://h:1/v1/chat/completions,tokenizer_backend=none,num_concurrent=4,"
        "max_gen_toks=52,max_length=2048,timeout=600",
    )
    assert engine.client_model("lm-eval", gemma, "http://h:1", 4, 52, 2048)[0] == "local-completions"
    assert engine.client_model("cascade", gemma, "http://h:1", 4, 52, 2048) == (
        "mmmult-cascade",
        "model=gemma-3-270m,base_url=http://h:1/v1,chat=false,num_concurrent=4",
    )


def test_the_benchmark_refuses_unknown_models_and_regimes(tmp_path: Path, capsys) -> None:
    for option, value, message in (
        ("--models", "llama-7b", "unknown model 'llama-7b': use qwen2.5-coder-0.5b, qwen2.5-coder-1.5b, gemma-3-270m"),
        ("--regimes", "direct,greedy", "unknown regime 'greedy': use direct, worked"),
    ):
        with pytest.raises(SystemExit) as exit_:
            engine.main([option, value, "--output-path", str(tmp_path)])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def test_the_benchmark_refuses_zero_slots_before_installing_anything(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        engine.main(["--slots", "0", "--output-path", str(tmp_path / "out")])
    assert str(exit_.value) == "the engine's slots must be a whole number of at least 1, not 0"
    assert not (tmp_path / "out").exists()
