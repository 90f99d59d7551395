"""mmmult's core: paired multiplication problems, their arithmetic load C, renderers and the dataset."""

from .numbers import int_to_words, words_to_int
from .problems import Problem, load

__all__ = ["Problem", "int_to_words", "load", "words_to_int"]
