"""mw-cppheavy: C++17 runtime features that need new libstdc++/glibc symbols."""

from mw_cppheavy._core import (
    call_with_each,
    fs_roundtrip,
    fs_temp_dir,
    guards_alive,
    random_values,
    rethrow_from_thread,
    thread_local_round,
    throw_runtime,
    wait_for,
)

__version__ = "0.1.0"
__all__ = [
    "call_with_each",
    "fs_roundtrip",
    "fs_temp_dir",
    "guards_alive",
    "random_values",
    "rethrow_from_thread",
    "thread_local_round",
    "throw_runtime",
    "wait_for",
]
