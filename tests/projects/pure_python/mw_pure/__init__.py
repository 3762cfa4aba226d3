"""mw-pure: a pure Python package with one data file."""

from mw_pure.text import count_words, load_words, slugify

__version__ = "0.1.0"
__all__ = ["count_words", "load_words", "slugify"]
