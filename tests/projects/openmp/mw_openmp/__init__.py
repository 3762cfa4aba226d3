"""OpenMP from C (_csum) and C++ (_cxxsum): the same reductions, computed by several threads."""
from ._csum import max_threads, sum_squares, threads_used
from ._cxxsum import harmonic, team_sizes

__all__ = ["max_threads", "sum_squares", "threads_used", "harmonic", "team_sizes"]
