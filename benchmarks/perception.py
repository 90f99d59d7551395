"""How well the rendered media carry their numbers: OCR on images, ASR on speech per TTS setting.

    .venv/bin/python -m benchmarks.perception [--images 1000] [--clips 500] [--settings en-us:130 en-us:160:5 ...]
        [--codecs flac opus:14 ...]

A setting is VOICE:RATE[:WORD_GAP] (espeak-ng's -v, -s in words per minute, -g in units of 10 ms);
a codec is flac or opus:KBPS. Every clip is encoded with each codec and decoded before it is heard.

Renders a seeded sample of the default problem set (no build needed), reads every item back and
prints the exact rate per config and setting, with seconds per item and the commonest errors.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from dataset_builder.media.codec import AudioCodec, decode_audio
from dataset_builder.media.image import ImageRenderer
from dataset_builder.media.readers import Transcriber, read_audio, read_image
from dataset_builder.media.speech import EspeakNG
from dataset_builder.problems import generate
from dataset_builder.stimulus import stimulus


def error_kind(expected: tuple[int, int], read: object) -> str:
    if not isinstance(read, tuple):
        return "unparsable transcript"
    wrong = [name for name, e, r in zip("ab", expected, read, strict=True) if e != r]
    lengths = [len(str(e)) != len(str(r)) for e, r in zip(expected, read, strict=True) if e != r]
    return f"operand {'+'.join(wrong)} wrong" + (" (digit count)" if any(lengths) else " (same length)")


def measure(label: str, items: list[tuple[tuple[int, int], object]], reader) -> None:  # noqa: ANN001
    if not items:
        return
    started, exact, kinds = time.perf_counter(), 0, Counter()
    examples = []
    for expected, medium in items:
        try:
            read = reader(medium)
        except ValueError as error:
            read = str(error)
        if read == expected:
            exact += 1
        else:
            kinds[error_kind(expected, read)] += 1
            examples.append((expected, read))
    seconds = (time.perf_counter() - started) / len(items)
    print(
        f"{label:34} {exact:5}/{len(items):<5} {exact / len(items):7.2%} {seconds:6.2f} s/item  {dict(kinds)}",
        flush=True,
    )
    for expected, read in examples[:3]:
        print(f"    expected {expected}, read {read}")


def parse_codec(text: str) -> AudioCodec:
    name, *kbps = text.split(":")
    return AudioCodec(name, int(kbps[0])) if kbps else AudioCodec(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--clips", type=int, default=500)
    parser.add_argument(
        "--settings",
        nargs="*",
        default=["en-us:130", "en-us:160", "en-gb:130", "en-us:130:5", "en-us:160:5", "en-us:160:10"],
    )
    parser.add_argument(
        "--codecs", nargs="*", default=["flac", "opus:16"], help="flac or opus:KBPS (default %(default)s)"
    )
    args = parser.parse_args()
    problems = generate()
    renderer = ImageRenderer.default()
    for representation in ("numerals", "words"):
        sample = random.Random(1).sample(problems, args.images)
        items = [((p.a, p.b), renderer.render(stimulus(p.a, p.b, representation))) for p in sample]
        measure(f"image-{representation} (tesseract)", items, read_image)
    transcriber = Transcriber()
    for setting in args.settings:
        voice, rate, *gap = setting.split(":")
        espeak = EspeakNG(voice=voice, rate=int(rate), word_gap=int(gap[0]) if gap else 1)
        for representation in ("words", "digits"):
            sample = random.Random(2).sample(problems, args.clips)
            clips = [((p.a, p.b), espeak.synthesize(stimulus(p.a, p.b, representation))) for p in sample]
            seconds = sum(len(clip) for _, clip in clips) / 16000
            for codec in map(parse_codec, args.codecs):
                items = [(operands, codec.encode(clip)) for operands, clip in clips]
                kbps = sum(len(data) for _, data in items) * 8 / seconds / 1000
                label = f"audio-{representation} {setting} {codec.name}" + (f":{codec.kbps}" if codec.bitrate else "")
                print(f"{label}: {kbps:.1f} kbit/s, {seconds / len(items):.1f} s per clip", flush=True)
                measure(label, items, lambda data: read_audio(*decode_audio(data), transcriber))


if __name__ == "__main__":
    main()
