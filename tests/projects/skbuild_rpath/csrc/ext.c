#define PY_SSIZE_T_CLEAN
#include <Python.h>

int mwrcore_triple(int n);

static PyObject *triple(PyObject *self, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(mwrcore_triple((int)n));
}

static PyMethodDef methods[] = {
    {"triple", triple, METH_O, "3 * n, computed by the project's own shared library"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ext(void) { return PyModule_Create(&module); }
