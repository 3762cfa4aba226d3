"""mw-example: a C and a C++ extension that exercise new glibc and libstdc++ symbols."""

from mw_example._cext import (
    copy_bytes,
    dl_cos,
    fd_flags,
    file_size,
    math_triple,
    random_bytes,
    secure_zero,
    thread_sum,
)
from mw_example._cppext import (
    format_table,
    parallel_count,
    parse_int,
    replace_all,
    reverse_words,
    say,
    throw_and_catch,
)

__version__ = "0.1.0"

__all__ = [
    "copy_bytes",
    "dl_cos",
    "fd_flags",
    "file_size",
    "format_table",
    "math_triple",
    "parallel_count",
    "parse_int",
    "random_bytes",
    "replace_all",
    "reverse_words",
    "say",
    "secure_zero",
    "thread_sum",
    "throw_and_catch",
]
