"""mw-abi3: a C extension built against the limited API (Py_LIMITED_API 3.9)."""

from mw_abi3._core import clamp, count_byte, dot, norm

__version__ = "0.1.0"
__all__ = ["clamp", "count_byte", "dot", "norm"]
