#include <cuda_runtime.h>

__global__ void scale(int n, float a, float *x) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= a;
}

// The number of devices, or -1 when the runtime cannot reach one (no GPU, no driver).
extern "C" int cuda_cmake_devices(void) {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : -1;
}

extern "C" int cuda_cmake_runtime(void) {
    int v = 0;
    cudaRuntimeGetVersion(&v);
    return v;
}
