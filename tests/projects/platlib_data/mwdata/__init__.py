from ._vendored import square

__all__ = ["square"]
