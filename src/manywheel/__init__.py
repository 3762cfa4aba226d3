"""manywheel: build portable manylinux wheels on a modern host."""

__version__ = "0.1.0"
