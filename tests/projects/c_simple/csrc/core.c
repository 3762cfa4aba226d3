/* mw_csimple._core: a small C extension using only the C API and a little libc. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <string.h>

static PyObject *
add(PyObject *Py_UNUSED(self), PyObject *args)
{
    long long a, b;

    if (!PyArg_ParseTuple(args, "LL:add", &a, &b))
        return NULL;
    return PyLong_FromLongLong(a + b);
}

static PyObject *
fib(PyObject *Py_UNUSED(self), PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    unsigned long long a = 0, b = 1;

    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0 || n > 93)
        return PyErr_Format(PyExc_ValueError, "fib(n) needs 0 <= n <= 93, not %ld", n);
    for (long i = 0; i < n; i++) {
        unsigned long long t = a + b;
        a = b;
        b = t;
    }
    return PyLong_FromUnsignedLongLong(a);
}

static PyObject *
sum_list(PyObject *Py_UNUSED(self), PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "sum_list expects a sequence of floats");
    double total = 0.0;

    if (seq == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        double v = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return NULL;
        }
        total += v;
    }
    Py_DECREF(seq);
    return PyFloat_FromDouble(total);
}

static PyObject *
greet(PyObject *Py_UNUSED(self), PyObject *args)
{
    const char *name;
    char buf[256];

    if (!PyArg_ParseTuple(args, "s:greet", &name))
        return NULL;
    if (strlen(name) > 200)
        return PyErr_Format(PyExc_ValueError, "name too long");
    snprintf(buf, sizeof buf, "Hello, %s!", name);
    return PyUnicode_FromString(buf);
}

static PyMethodDef core_methods[] = {
    {"add", add, METH_VARARGS, "add(a, b) -> a + b"},
    {"fib", fib, METH_O, "fib(n) -> n-th Fibonacci number"},
    {"sum_list", sum_list, METH_O, "sum_list(values) -> float sum"},
    {"greet", greet, METH_VARARGS, "greet(name) -> 'Hello, name!'"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "mw_csimple._core", "A small C extension.", -1, core_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&core_module);
}
