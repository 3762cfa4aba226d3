# cython: language_level=3
"""Numeric helpers on libc math (exp, log, pow, sin, sqrt, fabs)."""

from libc.math cimport exp, fabs, log, pow, sin, sqrt, INFINITY


def logsumexp(values):
    """log(sum(exp(v))) computed stably."""
    cdef double m = -INFINITY, acc = 0.0, x
    data = [float(v) for v in values]
    if not data:
        raise ValueError("logsumexp() of an empty sequence")
    for x in data:
        if x > m:
            m = x
    if m == -INFINITY:
        return -INFINITY
    for x in data:
        acc += exp(x - m)
    return m + log(acc)


def rms(values):
    """Root mean square."""
    cdef double acc = 0.0, x
    cdef Py_ssize_t n = 0
    for v in values:
        x = v
        acc += x * x
        n += 1
    if n == 0:
        raise ValueError("rms() of an empty sequence")
    return sqrt(acc / n)


def integrate_sin(double a, double b, int n=1000):
    """Simpson's rule for the integral of sin over [a, b] with n (even) intervals."""
    cdef double h, total
    cdef int i
    if n <= 0 or n % 2:
        raise ValueError("n must be a positive even number")
    h = (b - a) / n
    total = sin(a) + sin(b)
    for i in range(1, n):
        total += (4.0 if i % 2 else 2.0) * sin(a + i * h)
    return total * h / 3.0


cpdef double scaled_pow(double x, double y, double scale=1.0) except? -1.0:
    """scale * |x| ** y"""
    return scale * pow(fabs(x), y)
