#include <Python.h>
__asm__(".text\n.globl mw_close_range\n.type mw_close_range,@function\nmw_close_range:\n jmp close_range@PLT\n");
extern int mw_close_range(unsigned, unsigned, int);
static PyObject *f(PyObject *self, PyObject *unused) { return PyLong_FromLong(mw_close_range(1000, 1001, 0)); }
#include <Python.h>
static PyMethodDef methods[] = {{"f", (PyCFunction)f, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};
PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&mod); }
