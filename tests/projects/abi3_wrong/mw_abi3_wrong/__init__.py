from ._core import utf8_length

__all__ = ["utf8_length"]
