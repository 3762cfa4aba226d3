"""manywheel sample: a C and a C++ extension built by meson-python."""
from ._cmod import file_size, greeting, power
from ._cppmod import parse_int, sum_range

__all__ = ["file_size", "greeting", "parse_int", "power", "sum_range"]
