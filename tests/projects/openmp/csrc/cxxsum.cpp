// C++ with OpenMP: a reduction over a std::vector, and the team size each thread saw.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <omp.h>

#include <set>
#include <stdexcept>
#include <vector>

static double harmonic_sum(long n) {
    if (n < 0)
        throw std::invalid_argument("n must not be negative");
    std::vector<double> terms(static_cast<size_t>(n));
    for (long i = 0; i < n; i++)
        terms[i] = 1.0 / static_cast<double>(i + 1);
    double total = 0.0;
#pragma omp parallel for reduction(+ : total)
    for (long i = 0; i < n; i++)
        total += terms[i];
    return total;
}

static PyObject *harmonic(PyObject *, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return nullptr;
    try {
        return PyFloat_FromDouble(harmonic_sum(n));
    } catch (const std::invalid_argument &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
        return nullptr;
    }
}

// The sizes of the team as each of its threads saw it (one value when all agree).
static PyObject *team_sizes(PyObject *, PyObject *) {
    std::set<int> sizes;
#pragma omp parallel
    {
        int size = omp_get_num_threads();
#pragma omp critical
        sizes.insert(size);
    }
    PyObject *result = PyList_New(0);
    for (int s : sizes) {
        PyObject *v = PyLong_FromLong(s);
        PyList_Append(result, v);
        Py_DECREF(v);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"harmonic", harmonic, METH_O, "Sum of 1/i for i in 1..n, in parallel."},
    {"team_sizes", team_sizes, METH_NOARGS, "omp_get_num_threads() as the team's threads saw it."},
    {nullptr, nullptr, 0, nullptr},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cxxsum", nullptr, -1, methods};

PyMODINIT_FUNC PyInit__cxxsum(void) { return PyModule_Create(&module); }
