/* mw_vendored._core: thin wrappers over the vendored libfoo.a. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>

#include "foo.h"

static PyObject *
file_size(PyObject *Py_UNUSED(self), PyObject *path)
{
    PyObject *encoded = NULL;
    long long size = 0;
    int err;

    if (!PyUnicode_FSConverter(path, &encoded))
        return NULL;
    err = foo_file_size(PyBytes_AS_STRING(encoded), &size);
    Py_DECREF(encoded);
    if (err != 0) {
        errno = err;
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    }
    return PyLong_FromLongLong(size);
}

static PyObject *
random_bytes(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    PyObject *result;
    int err;

    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0 || n > (1 << 20))
        return PyErr_Format(PyExc_ValueError, "n must be in 0..%d", 1 << 20);
    result = PyBytes_FromStringAndSize(NULL, n);
    if (result == NULL)
        return NULL;
    err = foo_random(PyBytes_AS_STRING(result), (size_t)n);
    if (err != 0) {
        Py_DECREF(result);
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return result;
}

static PyObject *
fnv1a(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_buffer view;
    uint64_t h;

    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0)
        return NULL;
    h = foo_fnv1a(view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(h);
}

static PyMethodDef methods[] = {
    {"file_size", file_size, METH_O, "file_size(path) -> size (libfoo, stat)"},
    {"random_bytes", random_bytes, METH_O, "random_bytes(n) -> bytes (libfoo, getrandom)"},
    {"fnv1a", fnv1a, METH_O, "fnv1a(data) -> 64-bit FNV-1a hash (libfoo)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mw_vendored._core", "Wrappers over vendored libfoo.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&module);
}
