"""mw-noshim: uses copy_file_range (glibc 2.27), so it cannot be manylinux_2_17."""

from mw_noshim._core import copy_file

__version__ = "0.1.0"
__all__ = ["copy_file"]
