// A C++17 extension without binding libraries: std::thread, std::optional, and a C++
// exception turned into a Python exception at the boundary.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

long long threaded_sum(long long n, int threads) {
    if (threads < 1) {
        throw std::invalid_argument("threads must be at least 1, got " + std::to_string(threads));
    }
    std::vector<long long> partial(static_cast<std::size_t>(threads), 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&partial, n, threads, t] {
            for (long long i = t; i < n; i += threads) partial[static_cast<std::size_t>(t)] += i;
        });
    }
    for (auto &thread : pool) thread.join();
    return std::accumulate(partial.begin(), partial.end(), 0LL);
}

std::optional<long long> parse(const std::string &text) {
    std::size_t used = 0;
    long long value = std::stoll(text, &used);  // throws std::invalid_argument / std::out_of_range
    if (used != text.size()) return std::nullopt;
    return value;
}

PyObject *sum_range(PyObject *, PyObject *args) {
    long long n;
    int threads;
    if (!PyArg_ParseTuple(args, "Li", &n, &threads)) return nullptr;
    try {
        long long total;
        Py_BEGIN_ALLOW_THREADS
        try {
            total = threaded_sum(n, threads);
        } catch (...) {
            Py_BLOCK_THREADS
            throw;
        }
        Py_END_ALLOW_THREADS
        return PyLong_FromLongLong(total);
    } catch (const std::invalid_argument &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
        return nullptr;
    }
}

PyObject *parse_int(PyObject *, PyObject *args) {
    const char *text;
    if (!PyArg_ParseTuple(args, "s", &text)) return nullptr;
    try {
        auto value = parse(text);
        if (!value) Py_RETURN_NONE;
        return PyLong_FromLongLong(*value);
    } catch (const std::invalid_argument &e) {
        PyErr_Format(PyExc_ValueError, "not an integer: '%s' (%s)", text, e.what());
    } catch (const std::out_of_range &e) {
        PyErr_Format(PyExc_OverflowError, "out of range: '%s' (%s)", text, e.what());
    }
    return nullptr;
}

PyMethodDef methods[] = {
    {"sum_range", sum_range, METH_VARARGS, "sum(range(n)) over std::threads; ValueError for threads < 1."},
    {"parse_int", parse_int, METH_VARARGS, "an int, None for trailing text, ValueError / OverflowError otherwise."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cppmod", nullptr, -1, methods, nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__cppmod() { return PyModule_Create(&module); }
