/* A C extension: libm (pow, exp: new symbol versions on a modern glibc), stat (stat64 moved
   in glibc 2.33) and a string set at configure time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <sys/stat.h>

#ifndef MESONMIXED_GREETING
#define MESONMIXED_GREETING "unset"
#endif

static PyObject *greeting(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyUnicode_FromString(MESONMIXED_GREETING);
}

static PyObject *power(PyObject *self, PyObject *args) {
    double x, y;
    (void)self;
    if (!PyArg_ParseTuple(args, "dd", &x, &y)) {
        return NULL;
    }
    return PyFloat_FromDouble(pow(x, y) + exp(0.0) - 1.0);
}

static PyObject *file_size(PyObject *self, PyObject *args) {
    const char *path;
    struct stat st;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &path)) {
        return NULL;
    }
    if (stat(path, &st) != 0) {
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    }
    return PyLong_FromLongLong((long long)st.st_size);
}

static PyMethodDef methods[] = {
    {"greeting", greeting, METH_NOARGS, "The greeting chosen at configure time (-Dgreeting=...)."},
    {"power", power, METH_VARARGS, "x ** y through libm."},
    {"file_size", file_size, METH_VARARGS, "stat(path).st_size; OSError if it fails."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cmod", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__cmod(void) { return PyModule_Create(&module); }
