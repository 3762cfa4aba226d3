"""SAXPY on the GPU when there is one, on the host otherwise."""
from ._core import device_count as _device_count, runtime_version, saxpy_device

__all__ = ["device", "runtime_version", "saxpy"]


def device():
    """("cuda", count) when a CUDA device is usable, else ("host", why not)."""
    count, why = _device_count()
    return ("cuda", count) if count > 0 else ("host", why or "no CUDA device")


def saxpy(a, x, y):
    """a*x + y, element by element: on the GPU when there is one, on the host otherwise."""
    if device()[0] == "cuda":
        return saxpy_device(a, x, y)
    return [a * xi + yi for xi, yi in zip(x, y)]
