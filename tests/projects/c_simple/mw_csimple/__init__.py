"""mw-csimple: one small C extension."""

from mw_csimple._core import add, fib, greet, sum_list

__version__ = "0.1.0"
__all__ = ["add", "fib", "greet", "sum_list"]
