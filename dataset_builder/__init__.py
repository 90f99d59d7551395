"""mmmult's core and its dataset: paired multiplication problems, their arithmetic load C, the prompts, the media
and the Hugging Face dataset. Nothing here imports the package that runs and ranks models (mmmult/)."""

from dataset_builder.numbers import int_to_words, words_to_int
from dataset_builder.problems import Problem, load

__all__ = ["Problem", "int_to_words", "load", "words_to_int"]
