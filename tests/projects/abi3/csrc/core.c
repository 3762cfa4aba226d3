/* mw_abi3._core: only limited-API (Py_LIMITED_API=0x03090000) calls. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>

/* Reads a sequence of floats into a freshly allocated array. */
static double *
read_floats(PyObject *obj, Py_ssize_t *len)
{
    Py_ssize_t n = PySequence_Size(obj);
    double *values;

    if (n < 0)
        return NULL;
    values = PyMem_Malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (values == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(obj, i);
        if (item == NULL) {
            PyMem_Free(values);
            return NULL;
        }
        values[i] = PyFloat_AsDouble(item);
        Py_DECREF(item);
        if (values[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(values);
            return NULL;
        }
    }
    *len = n;
    return values;
}

static PyObject *
dot(PyObject *self, PyObject *args)
{
    PyObject *a, *b;
    Py_ssize_t na = 0, nb = 0;
    double *va, *vb, total = 0.0;

    (void)self;
    if (!PyArg_ParseTuple(args, "OO:dot", &a, &b))
        return NULL;
    if ((va = read_floats(a, &na)) == NULL)
        return NULL;
    if ((vb = read_floats(b, &nb)) == NULL) {
        PyMem_Free(va);
        return NULL;
    }
    if (na != nb) {
        PyMem_Free(va);
        PyMem_Free(vb);
        PyErr_SetString(PyExc_ValueError, "dot: sequences differ in length");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < na; i++)
        total += va[i] * vb[i];
    PyMem_Free(va);
    PyMem_Free(vb);
    return PyFloat_FromDouble(total);
}

static PyObject *
norm(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = 0;
    double *v, acc = 0.0;

    (void)self;
    if ((v = read_floats(arg, &n)) == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        acc = hypot(acc, v[i]);
    PyMem_Free(v);
    return PyFloat_FromDouble(acc);
}

static PyObject *
clamp(PyObject *self, PyObject *args)
{
    double x, lo, hi;

    (void)self;
    if (!PyArg_ParseTuple(args, "ddd:clamp", &x, &lo, &hi))
        return NULL;
    if (lo > hi) {
        PyErr_SetString(PyExc_ValueError, "clamp: lo > hi");
        return NULL;
    }
    return PyFloat_FromDouble(x < lo ? lo : (x > hi ? hi : x));
}

/* count_byte(text, ch): occurrences of the one-character ASCII ch in text's UTF-8. */
static PyObject *
count_byte(PyObject *self, PyObject *args)
{
    PyObject *text, *encoded;
    const char *ch, *data;
    Py_ssize_t size, count = 0;

    (void)self;
    if (!PyArg_ParseTuple(args, "Us:count_byte", &text, &ch))
        return NULL;
    if (ch[0] == '\0' || ch[1] != '\0') {
        PyErr_SetString(PyExc_ValueError, "count_byte: ch must be one ASCII character");
        return NULL;
    }
    encoded = PyUnicode_AsUTF8String(text);
    if (encoded == NULL)
        return NULL;
    data = PyBytes_AsString(encoded);
    size = PyBytes_Size(encoded);
    for (Py_ssize_t i = 0; i < size; i++)
        count += data[i] == ch[0];
    Py_DECREF(encoded);
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"dot", dot, METH_VARARGS, "dot(a, b) -> sum(x * y)"},
    {"norm", norm, METH_O, "norm(v) -> Euclidean norm via hypot()"},
    {"clamp", clamp, METH_VARARGS, "clamp(x, lo, hi) -> x limited to [lo, hi]"},
    {"count_byte", count_byte, METH_VARARGS, "count_byte(text, ch) -> occurrences of ch"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mw_abi3._core", "Stable-ABI C extension.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&module);
}
