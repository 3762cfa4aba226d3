"""mw-vendored: a C extension over a vendored static library (libfoo.a)."""

from mw_vendored._core import file_size, fnv1a, random_bytes

__version__ = "0.1.0"
__all__ = ["file_size", "fnv1a", "random_bytes"]
