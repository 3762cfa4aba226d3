#define PY_SSIZE_T_CLEAN
#include <Python.h>

int mwvendor_square(int n);

static PyObject *square(PyObject *self, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(mwvendor_square((int)n));
}

static PyMethodDef methods[] = {
    {"square", square, METH_O, "n * n, computed by the bundled libmwvendor"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_vendored", NULL, -1, methods};

PyMODINIT_FUNC PyInit__vendored(void) { return PyModule_Create(&module); }
