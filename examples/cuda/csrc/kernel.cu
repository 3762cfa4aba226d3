// A SAXPY kernel and the host code that runs it; C entry points for _core.c.
#include <cuda_runtime.h>
#include <cstdio>

__global__ void saxpy_kernel(int n, float a, const float *x, float *y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

static int fail(cudaError_t e, char *err, int errlen) {
    std::snprintf(err, errlen, "%s", cudaGetErrorString(e));
    return -1;
}

// The number of CUDA devices; 0 with the reason in err when there is none (or no driver).
extern "C" int cudademo_device_count(char *err, int errlen) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        fail(e, err, errlen);
        return 0;
    }
    return n;
}

extern "C" int cudademo_runtime_version(void) {
    int v = 0;
    cudaRuntimeGetVersion(&v);
    return v;
}

// y = a*x + y on device 0; 0 on success, -1 with the reason in err.
extern "C" int cudademo_saxpy(int n, float a, const float *x, float *y, char *err, int errlen) {
    float *dx = nullptr, *dy = nullptr;
    size_t bytes = sizeof(float) * (size_t)n;
    cudaError_t e;
    if ((e = cudaMalloc(&dx, bytes)) != cudaSuccess) return fail(e, err, errlen);
    if ((e = cudaMalloc(&dy, bytes)) != cudaSuccess) { cudaFree(dx); return fail(e, err, errlen); }
    cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice);
    cudaMemcpy(dy, y, bytes, cudaMemcpyHostToDevice);
    saxpy_kernel<<<(n + 255) / 256, 256>>>(n, a, dx, dy);
    e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaMemcpy(y, dy, bytes, cudaMemcpyDeviceToHost);
    cudaFree(dx);
    cudaFree(dy);
    return e == cudaSuccess ? 0 : fail(e, err, errlen);
}
