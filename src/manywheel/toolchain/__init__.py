"""Toolchain preparation: everything the inner build's compilers and linkers are given.

``compiler`` asks the C and C++ compilers what they are (once each, cached); ``baseline``
makes the cached stub libraries, shims and pin header for a target; ``cross`` makes the
target's Python for another architecture; ``pyconfig`` writes its ``pyconfig.h``; ``openmp``
builds the OpenMP runtime for a baseline; ``wrappers`` writes the wrapper scripts and their
configuration.  Nothing here imports the inner-backend adapters or the wheel repair.
"""
