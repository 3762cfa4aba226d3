/* C with OpenMP: a parallel reduction, and how many threads really took part. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <omp.h>

static PyObject *sum_squares(PyObject *self, PyObject *arg) {
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    unsigned long long total = 0;
    Py_BEGIN_ALLOW_THREADS
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (long long i = 0; i < n; i++)
        total += (unsigned long long)i * (unsigned long long)i;
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLongLong(total);
}

static PyObject *max_threads(PyObject *self, PyObject *unused) {
    return PyLong_FromLong(omp_get_max_threads());
}

/* The number of distinct threads that ran a part of a parallel loop. */
static PyObject *threads_used(PyObject *self, PyObject *unused) {
    int seen[256] = {0};
    int count = 0;
#pragma omp parallel for schedule(static, 1)
    for (int i = 0; i < 1024; i++) {
        int t = omp_get_thread_num();
        if (t < 256)
            seen[t] = 1;
    }
    for (int t = 0; t < 256; t++)
        count += seen[t];
    return PyLong_FromLong(count);
}

static PyMethodDef methods[] = {
    {"sum_squares", sum_squares, METH_O, "Sum of i*i for i in range(n), in parallel."},
    {"max_threads", max_threads, METH_NOARGS, "omp_get_max_threads()."},
    {"threads_used", threads_used, METH_NOARGS, "Threads that took part in a parallel loop."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csum", NULL, -1, methods};

PyMODINIT_FUNC PyInit__csum(void) { return PyModule_Create(&module); }
