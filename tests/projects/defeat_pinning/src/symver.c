#include <Python.h>
#include <stddef.h>
extern long my_getrandom(void *, size_t, unsigned);
__asm__(".symver my_getrandom, getrandom@GLIBC_2.25");
static PyObject *f(PyObject *self, PyObject *unused) { char b[4]; return PyLong_FromLong(my_getrandom(b, 4, 0)); }
#include <Python.h>
static PyMethodDef methods[] = {{"f", (PyCFunction)f, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};
PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&mod); }
