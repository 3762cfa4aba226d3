/* Calls a function of libmwdemo.so.1, a shared library the tests make (see setup.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int mwdemo_triple(int);

static PyObject *triple(PyObject *self, PyObject *arg) {
    long value = PyLong_AsLong(arg);
    if (value == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(mwdemo_triple((int)value));
}

static PyMethodDef methods[] = {{"triple", triple, METH_O, "3 * n, computed by libmwdemo."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "mw_extlibs._demo", NULL, -1, methods};

PyMODINIT_FUNC PyInit__demo(void) { return PyModule_Create(&module); }
