/* mw_abi3_wrong._core: the module; the call outside the Stable ABI is in text.c. */
#include <Python.h>

Py_ssize_t mw_utf8_length(PyObject *text);

static PyObject *
utf8_length(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = mw_utf8_length(arg);
    return n < 0 ? NULL : PyLong_FromSsize_t(n);
}

static PyMethodDef methods[] = {
    {"utf8_length", utf8_length, METH_O, "The length of a str in UTF-8 bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&module);
}
