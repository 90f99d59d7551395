"""How well the reference reads the extended set's spoken problems back, against the base set's on as many clips.

    .venv/bin/python -m benchmarks.long_clips [--count 30] [--seeds 1 2] [--show 5] [--configs audio-digits ...]
        [--rate 160] [--word-gaps 5 10 ...]

For each seed, draws `count` test problems of the extended set and of the base set (random.Random(seed)),
renders each audio config's row as a build does (espeak-ng, the extended configs' group pauses, Opus 16 kbit/s),
decodes it and reads it back with the reference reader (`readers.read_audio`, Whisper tiny.en). Prints the exact
readings per config and seed, and the transcripts of the first `show` misreadings. `--rate` speaks every clip at
another espeak-ng rate; `--word-gaps` speaks the extended audio configs' clips with each of these word gaps in turn
instead of their own (configs.ConfigSpec.speech_word_gap), as the README's table of word gaps was measured.
Readings are kept in the reading cache (MMMULT_CACHE), so a second run with the same reader is quick.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace

from dataset_builder.configs import CONFIGS, ConfigSpec
from dataset_builder.dataset.rows import Renderers, render_row
from dataset_builder.media.codec import decode_audio
from dataset_builder.media.readers import Transcriber, mend_scales, read_audio
from dataset_builder.media.speech import DEFAULT_RATE
from dataset_builder.media.tts import TTSSettings
from dataset_builder.problems import Problem, generate, generate_extended

CONFIG_NAMES = ("extended-audio-words", "audio-words", "extended-audio-digits", "audio-digits")


def sample(problems: list[Problem], count: int, seed: int) -> list[Problem]:
    """`count` test problems drawn with random.Random(seed)."""
    return random.Random(seed).sample([p for p in problems if p.split == "test"], count)


def variants(config: str, word_gaps: list[int] | None) -> list[tuple[str, ConfigSpec]]:
    """The config as built, or an extended audio config once per word gap asked for, each with its label."""
    spec = CONFIGS[config]
    if not word_gaps or not spec.speech_pauses:
        return [(config, spec)]
    return [(f"{config} gap {gap}", replace(spec, speech_word_gap=gap)) for gap in word_gaps]


def measure(
    spec: ConfigSpec, problems: list[Problem], renderers: Renderers, transcriber: Transcriber, show: int
) -> int:
    """How many of the problems' clips in `spec` read back exactly; prints the first `show` misreadings."""
    exact, wrong = 0, []
    for problem in problems:
        row = render_row(spec, problem.as_dict(), renderers)
        samples, rate = decode_audio(row["audio"]["bytes"])
        try:
            read = read_audio(samples, rate, transcriber)
        except ValueError:
            read = None
        if read == (problem.a, problem.b):
            exact += 1
        else:
            wrong.append((problem, mend_scales(transcriber.transcribe(samples, rate))))
    for problem, heard in wrong[:show]:
        print(f"    {problem.problem_id} {problem.a} x {problem.b}: heard {heard!r}")
    return exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--show", type=int, default=5, help="misreadings printed per config and seed")
    parser.add_argument("--configs", nargs="+", choices=CONFIG_NAMES, default=CONFIG_NAMES)
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE, help="espeak-ng words per minute, every clip")
    parser.add_argument("--word-gaps", type=int, nargs="+", help="word gaps (10 ms) for the extended audio configs")
    args = parser.parse_args()
    sets = {"extended": generate_extended(), "base": generate()}
    renderers, transcriber = Renderers(tts=TTSSettings(rate=args.rate)), Transcriber()
    for seed in args.seeds:
        for config in args.configs:
            problems = sample(sets[CONFIGS[config].problem_set], args.count, seed)
            for label, spec in variants(config, args.word_gaps):
                exact = measure(spec, problems, renderers, transcriber, args.show)
                print(f"seed {seed} {label:29} {exact:3}/{args.count} ({exact / args.count:.0%})", flush=True)


if __name__ == "__main__":
    main()
