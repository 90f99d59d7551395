from __future__ import annotations

import hashlib
import io
import random
import shutil
import subprocess

import av
import numpy as np
import pytest
from PIL import Image

from dataset_builder.configs import SAMPLING_RATE
from dataset_builder.media.codec import DEFAULT_CODEC, DEFAULT_KBPS, AudioCodec, decode_audio
from dataset_builder.media.espnet import EspnetTTS
from dataset_builder.media.image import MAX_WIDTH, ImageRenderer
from dataset_builder.media.readers import read_image
from dataset_builder.media.speech import DEFAULT_RATE, DEFAULT_VOICE, DEFAULT_WORD_GAP, EspeakNG, TTSUnavailable
from dataset_builder.problems import generate, generate_extended
from dataset_builder.stimulus import stimulus

LONGEST = stimulus(777777777, 777777777, "words")


@pytest.fixture(scope="module")
def renderer() -> ImageRenderer:
    return ImageRenderer.default()


def test_png_is_black_on_white_grayscale_and_byte_identical(renderer: ImageRenderer) -> None:
    png = renderer.render("What is 8004004 times 500?")
    assert png == ImageRenderer.default().render("What is 8004004 times 500?")
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.mode) == ("PNG", "L")
    assert image.getextrema() == (0, 255)
    assert image.height < 100  # one line


def test_long_word_stimuli_wrap_within_1024_px(renderer: ImageRenderer) -> None:
    image = Image.open(io.BytesIO(renderer.render(LONGEST)))
    assert image.width <= MAX_WIDTH
    assert len(renderer.wrap(LONGEST)) >= 3
    assert " ".join(renderer.wrap(LONGEST)) == LONGEST


def test_the_manifest_names_the_font_by_the_hash_of_the_file_drawn_with(renderer: ImageRenderer, tmp_path) -> None:
    described = renderer.describe()
    assert described["font_file"] == "DejaVuSans.ttf"
    assert described["font_sha256"] == hashlib.sha256(renderer.font_path.read_bytes()).hexdigest()
    other = tmp_path / "DejaVuSans.ttf"
    other.write_bytes(renderer.font_path.read_bytes() + b"\0")  # another file under the same name
    assert ImageRenderer(other).describe()["font_sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()
    assert ImageRenderer(other).describe()["font_sha256"] != described["font_sha256"]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Debian's tesseract-ocr")
@pytest.mark.parametrize("representation", ["numerals", "words"])
def test_tesseract_reads_rendered_images_back_exactly(renderer: ImageRenderer, representation: str) -> None:
    sample = random.Random(5).sample(generate(), 8)
    for p in sample:
        sentence = stimulus(p.a, p.b, representation)
        result = subprocess.run(
            ["tesseract", "stdin", "stdout", "--psm", "6"],
            input=renderer.render(sentence),
            capture_output=True,
            check=True,
        )
        assert " ".join(result.stdout.decode().split()) == sentence


EXTENDED_LONGEST = stimulus(777777777777777777777777777777, 777777777777777777777777777777, "words")
"""The longest sentence of the extended set: two 30-digit operands in words, to the hundreds of octillions."""


def test_30_digit_operands_in_words_wrap_within_1024_px(renderer: ImageRenderer) -> None:
    assert EXTENDED_LONGEST.count("hundred seventy-seven octillion") == 2
    image = Image.open(io.BytesIO(renderer.render(EXTENDED_LONGEST)))
    assert image.width <= MAX_WIDTH
    assert " ".join(renderer.wrap(EXTENDED_LONGEST)) == EXTENDED_LONGEST


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Debian's tesseract-ocr")
@pytest.mark.parametrize("representation", ["numerals", "words"])
def test_the_reference_reads_20_extended_images_back_exactly(renderer: ImageRenderer, representation: str) -> None:
    """Twenty problems with an operand of 28 to 30 digits, and the longest sentence, through the reference's OCR."""
    longest = [p for p in generate_extended() if max(p.digits_a, p.digits_b) >= 28]
    sample = [(p.a, p.b) for p in random.Random(5).sample(longest, 19)] + [(7 * (10**30 - 1) // 9,) * 2]
    read = [read_image(renderer.render(stimulus(a, b, representation))) for a, b in sample]
    assert read == sample


@pytest.fixture(scope="module")
def espeak() -> EspeakNG:
    return EspeakNG()


def test_speech_is_16khz_mono_non_silent_and_deterministic(espeak: EspeakNG) -> None:
    sentence = stimulus(47, 36, "words")
    clip = AudioCodec().encode(espeak.synthesize(sentence))
    assert clip == AudioCodec().encode(EspeakNG().synthesize(sentence))
    assert clip[:4] == b"OggS" and b"OpusHead" in clip[:64]
    samples, rate = decode_audio(clip)
    assert rate == SAMPLING_RATE and samples.ndim == 1
    seconds = len(samples) / rate
    assert 1.0 < seconds < 6.0
    rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    assert rms > 500  # int16 scale: clearly audible speech, not silence or a click


def test_opus_keeps_the_clip_length_and_waveform_within_its_bitrate(espeak: EspeakNG) -> None:
    clip = espeak.synthesize(stimulus(8004004, 500, "words"))
    data = AudioCodec("opus", 14).encode(clip)
    samples, _ = decode_audio(data)
    assert len(samples) == len(clip)
    assert np.corrcoef(samples.astype(np.float64), clip.astype(np.float64))[0, 1] > 0.85
    seconds = len(clip) / SAMPLING_RATE
    assert len(data) * 8 / seconds < 1.25 * 14_000  # about the target bitrate, headers included
    assert len(AudioCodec("opus", 32).encode(clip)) > 1.5 * len(data)


@pytest.mark.parametrize("codec", [AudioCodec(), AudioCodec("flac")], ids=["opus", "flac"])
def test_every_clip_length_decodes_to_the_same_length(codec: AudioCodec) -> None:
    noise = np.random.default_rng(0).normal(0, 3000, 8000).astype(np.int16)
    for length in (1, 200, 491, 1073, 2043, 4371, 7999):  # Opus frames are 320 samples; these are not
        samples, rate = decode_audio(codec.encode(noise[:length]))
        assert (len(samples), rate) == (length, SAMPLING_RATE)
    with pytest.raises(ValueError, match="the TTS engine returned no samples"):
        codec.encode(noise[:0])


def test_default_opus_keeps_the_whole_16_khz_band(espeak: EspeakNG) -> None:
    """At 12 kbps libopus drops to narrowband (4 kHz) and Whisper reads far worse; the default must not."""
    bandwidths = ["NB"] * 4 + ["MB"] * 4 + ["WB"] * 4  # SILK-only configurations of the packet's TOC byte
    clip = espeak.synthesize(stimulus(47013, 600250, "digits"))
    for codec, expected in ((AudioCodec(), {"WB"}), (AudioCodec("opus", 12), {"NB"})):
        with av.open(io.BytesIO(codec.encode(clip))) as container:
            tocs = [bytes(packet)[0] >> 3 for packet in container.demux(audio=0) if packet.size]
        assert {bandwidths[toc] for toc in tocs} == expected


def test_flac_is_lossless(espeak: EspeakNG) -> None:
    clip = espeak.synthesize(stimulus(47, 36, "digits"))
    data = AudioCodec("flac").encode(clip)
    assert data[:4] == b"fLaC"
    samples, rate = decode_audio(data)
    assert rate == SAMPLING_RATE and np.array_equal(samples, clip)


def test_codec_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown audio codec 'mp3'; choose from opus, flac"):
        AudioCodec("mp3")
    with pytest.raises(ValueError, match="the Opus bitrate must be 6 to 256 kbps, got 3"):
        AudioCodec("opus", 3)
    assert AudioCodec("flac").bitrate is None and AudioCodec("opus", 20).bitrate == 20


def test_longer_sentences_give_longer_clips(espeak: EspeakNG) -> None:
    short = espeak.synthesize(stimulus(7, 8, "words"))
    long = espeak.synthesize(LONGEST)
    assert len(long) > 3 * len(short)


def test_tts_info_names_engine_version_voice_rate_and_word_gap(espeak: EspeakNG) -> None:
    info = espeak.info()
    assert (info.backend, info.voice, info.rate) == ("espeak-ng", DEFAULT_VOICE, DEFAULT_RATE)
    assert info.word_gap == DEFAULT_WORD_GAP
    assert info.engine_version[0].isdigit()


def test_defaults_are_the_setting_chosen_for_intelligibility() -> None:
    assert (DEFAULT_VOICE, DEFAULT_RATE, DEFAULT_WORD_GAP) == ("en-us", 160, 5)  # benchmarks/perception.py
    assert (DEFAULT_CODEC, DEFAULT_KBPS) == ("opus", 16)  # benchmarks/perception.py --codecs


def test_a_longer_word_gap_gives_a_longer_clip() -> None:
    sentence = stimulus(4004, 17, "digits")
    short, long = (len(EspeakNG(word_gap=gap).synthesize(sentence)) for gap in (1, 8))
    assert long > short + 4000  # 7 more units of 10 ms at each of about 8 gaps


def test_missing_espeak_says_how_to_install() -> None:
    with pytest.raises(TTSUnavailable, match="apt-get install espeak-ng"):
        EspeakNG(executable="espeak-ng-not-here").synthesize("What is 7 times 8?")


def test_espnet_backend_needs_a_model_and_says_how_to_get_it(tmp_path) -> None:
    with pytest.raises(TTSUnavailable, match="needs a model: --espnet-model-tag, or --espnet-train-config"):
        EspnetTTS(train_config="config.yaml")
    with pytest.raises(TTSUnavailable, match="does not exist"):
        EspnetTTS(train_config=str(tmp_path / "missing.yaml"), model_file=str(tmp_path / "missing.pth"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (75889374948237079227243917166, 890911177384254356793777677794),
        (98873288392477622650332275929, 70),
        (225612678397456698687756703497, 36997689089925668362640202415),
        (735555435322622846761679245711, 13227425728379599817423134),
    ],
)
def test_a_long_numeral_that_ocr_splits_in_two_is_read_whole(renderer: ImageRenderer, a: int, b: int) -> None:
    # tesseract reads each of these extended problems with a space inside one operand (3 in 100 of a sample)
    assert read_image(renderer.render(stimulus(a, b, "numerals"))) == (a, b)
