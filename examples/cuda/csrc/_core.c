/* The Python face of kernel.cu: device_count(), runtime_version(), saxpy_device(). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

int cudademo_device_count(char *err, int errlen);
int cudademo_runtime_version(void);
int cudademo_saxpy(int n, float a, const float *x, float *y, char *err, int errlen);

static PyObject *device_count(PyObject *self, PyObject *unused) {
    char err[256] = "";
    int n = cudademo_device_count(err, sizeof err);
    return Py_BuildValue("(is)", n, err);
}

static PyObject *runtime_version(PyObject *self, PyObject *unused) {
    return PyLong_FromLong(cudademo_runtime_version());
}

/* saxpy_device(a, x, y) -> list: a*x + y computed on the GPU. */
static PyObject *saxpy_device(PyObject *self, PyObject *args) {
    float a;
    PyObject *xs, *ys;
    if (!PyArg_ParseTuple(args, "fOO", &a, &xs, &ys)) return NULL;
    Py_ssize_t n = PySequence_Size(xs);
    if (n < 0 || PySequence_Size(ys) != n) {
        PyErr_SetString(PyExc_ValueError, "x and y must be sequences of the same length");
        return NULL;
    }
    float *x = malloc(sizeof(float) * (n ? n : 1)), *y = malloc(sizeof(float) * (n ? n : 1));
    if (!x || !y) { free(x); free(y); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *xi = PySequence_GetItem(xs, i), *yi = PySequence_GetItem(ys, i);
        x[i] = xi ? (float)PyFloat_AsDouble(xi) : 0.0f;
        y[i] = yi ? (float)PyFloat_AsDouble(yi) : 0.0f;
        Py_XDECREF(xi);
        Py_XDECREF(yi);
    }
    if (PyErr_Occurred()) { free(x); free(y); return NULL; }
    char err[256] = "";
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = cudademo_saxpy((int)n, a, x, y, err, sizeof err);
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (rc != 0) {
        PyErr_Format(PyExc_RuntimeError, "CUDA: %s", err);
    } else if ((out = PyList_New(n)) != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) PyList_SET_ITEM(out, i, PyFloat_FromDouble(y[i]));
    }
    free(x);
    free(y);
    return out;
}

static PyMethodDef methods[] = {
    {"device_count", device_count, METH_NOARGS, "(number of CUDA devices, why none if 0)"},
    {"runtime_version", runtime_version, METH_NOARGS, "the CUDA runtime version, e.g. 13050"},
    {"saxpy_device", saxpy_device, METH_VARARGS, "a*x + y on the GPU"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};

PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&module); }
