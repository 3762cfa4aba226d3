#define PY_SSIZE_T_CLEAN
#include <Python.h>

int cuda_cmake_devices(void);
int cuda_cmake_runtime(void);

static PyObject *devices(PyObject *self, PyObject *unused) { return PyLong_FromLong(cuda_cmake_devices()); }
static PyObject *runtime(PyObject *self, PyObject *unused) { return PyLong_FromLong(cuda_cmake_runtime()); }

static PyMethodDef methods[] = {
    {"devices", devices, METH_NOARGS, "CUDA devices, -1 when none can be reached"},
    {"runtime", runtime, METH_NOARGS, "the CUDA runtime version"},
    {NULL, NULL, 0, NULL},
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cuda_cmake", NULL, -1, methods};
PyMODINIT_FUNC PyInit__cuda_cmake(void) { return PyModule_Create(&module); }
