#define PY_SSIZE_T_CLEAN
#include <Python.h>

long mw_a1(void), mw_a2(void), mw_a3(void), mw_a4(void);

static PyObject *total(PyObject *self, PyObject *args) {
    return PyLong_FromLong(mw_a1() + mw_a2() + mw_a3() + mw_a4());
}

static PyMethodDef methods[] = {{"total", total, METH_NOARGS, "sum of the parts"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_alpha", NULL, -1, methods};

PyMODINIT_FUNC PyInit__alpha(void) { return PyModule_Create(&module); }
