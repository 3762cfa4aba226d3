from ._core import answer, where

__all__ = ["answer", "where"]
