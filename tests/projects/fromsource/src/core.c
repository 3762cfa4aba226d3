#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <mwtiny.h>

static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(mwtiny_answer()); }
static PyObject *where(PyObject *self, PyObject *args) { return PyUnicode_FromString(mwtiny_where()); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {"where", where, METH_NOARGS, NULL}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};
PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&module); }
