#include <Python.h>
#include <unistd.h>
/* Weak references to functions newer than the target: NULL where glibc lacks them. */
#pragma weak close_range
#pragma weak copy_file_range
static PyObject *f(PyObject *self, PyObject *unused) {
    return PyLong_FromLong((close_range ? 1 : 0) + (copy_file_range ? 2 : 0));
}
static PyMethodDef methods[] = {{"f", (PyCFunction)f, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};
PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&mod); }
