"""mw-cython: a Cython module using libc math."""

from mw_cython._fast import integrate_sin, logsumexp, rms, scaled_pow

__version__ = "0.1.0"
__all__ = ["integrate_sin", "logsumexp", "rms", "scaled_pow"]
