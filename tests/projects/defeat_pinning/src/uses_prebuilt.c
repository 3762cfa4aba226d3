#include <Python.h>
extern long prebuilt_work(int fd);
static PyObject *f(PyObject *self, PyObject *unused) { return PyLong_FromLong(prebuilt_work(0)); }
#include <Python.h>
static PyMethodDef methods[] = {{"f", (PyCFunction)f, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};
PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&mod); }
