"""mw-pybind: a pybind11 module using C++17 (optional, variant, structured bindings)."""

from mw_pybind._core import Accumulator, describe, find_index, min_max, safe_div, word_lengths

__version__ = "0.1.0"
__all__ = ["Accumulator", "describe", "find_index", "min_max", "safe_div", "word_lengths"]
