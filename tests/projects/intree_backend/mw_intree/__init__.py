"""mw-intree: built by its own in-tree backend, wrapped by manywheel."""

from mw_intree._core import BUILT_BY, EXTRA_REQUIRES_SEEN, checksum

__version__ = "0.1.0"
__all__ = ["BUILT_BY", "EXTRA_REQUIRES_SEEN", "checksum"]
