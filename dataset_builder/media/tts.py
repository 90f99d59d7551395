"""Which TTS backend a build uses, as plain settings that travel to worker processes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from dataset_builder.media.speech import DEFAULT_RATE, DEFAULT_VOICE, DEFAULT_WORD_GAP, EspeakNG, TTSBackend

BACKENDS = ("espeak-ng", "espnet")


@dataclass(frozen=True)
class TTSSettings:
    """The backend's name and its options; `backend()` builds the engine."""

    backend_name: str = "espeak-ng"
    voice: str = DEFAULT_VOICE
    rate: int = DEFAULT_RATE
    word_gap: int = DEFAULT_WORD_GAP
    espnet_model_tag: str | None = None
    espnet_train_config: str | None = None
    espnet_model_file: str | None = None

    def with_word_gap(self, word_gap: int | None) -> TTSSettings:
        """These settings with another espeak-ng word gap (a config's own, configs.ConfigSpec.speech_word_gap);
        unchanged for None or another backend, which has no word gap.

        >>> TTSSettings().with_word_gap(10).word_gap, TTSSettings("espnet").with_word_gap(10).word_gap
        (10, 5)
        """
        return self if word_gap is None or self.backend_name != "espeak-ng" else replace(self, word_gap=word_gap)

    def backend(self) -> TTSBackend:
        if self.backend_name == "espeak-ng":
            return EspeakNG(voice=self.voice, rate=self.rate, word_gap=self.word_gap)
        if self.backend_name == "espnet":
            from dataset_builder.media.espnet import EspnetTTS

            return EspnetTTS(
                model_tag=self.espnet_model_tag,
                train_config=self.espnet_train_config,
                model_file=self.espnet_model_file,
            )
        raise ValueError(f"unknown TTS backend {self.backend_name!r}; known: {', '.join(BACKENDS)}")
