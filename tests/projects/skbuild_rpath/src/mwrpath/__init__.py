from ._ext import triple

__all__ = ["triple"]
