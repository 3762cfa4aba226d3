"""mw-cppsimple: one small C++ extension using std::string and exceptions."""

from mw_cppsimple._core import checked_sqrt, greet, repeat, upper

__version__ = "0.1.0"
__all__ = ["checked_sqrt", "greet", "repeat", "upper"]
