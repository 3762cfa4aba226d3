"""manywheel sample: a pybind11 C++17 module built by scikit-build-core."""
from ._core import (QuotaExceeded, checked_total, cplusplus, first_word, flag, hardware_threads, parallel_sum_squares,
                    parse_count)

__all__ = ["QuotaExceeded", "checked_total", "cplusplus", "first_word", "flag", "hardware_threads",
           "parallel_sum_squares", "parse_count"]
