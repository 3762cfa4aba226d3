// mw_example._cppext: C++17 code that needs libstdc++ (GLIBCXX_3.4.2x and
// CXXABI), the C++ runtime's exception machinery and threads.
//
//   throw_and_catch  throws and catches C++ exceptions inside the module
//   parse_int        std::stoll; its exceptions become ValueError/OverflowError
//   parallel_count   std::thread + std::mutex
//   format_table     std::ostringstream with iomanip
//   say              std::cout
//   reverse_words    std::string / std::istringstream manipulation
//   replace_all      std::string find/replace
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

// Turns the C++ exception in flight into a Python exception.
void set_python_error()
{
    try {
        throw;
    } catch (const std::invalid_argument &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::out_of_range &e) {
        PyErr_SetString(PyExc_OverflowError, e.what());
    } catch (const std::bad_alloc &) {
        PyErr_NoMemory();
    } catch (const std::exception &e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
    }
}

template <class F>
PyObject *guarded(F &&body)
{
    try {
        return body();
    } catch (...) {
        set_python_error();
        return nullptr;
    }
}

bool to_string(PyObject *obj, std::string &out)
{
    Py_ssize_t size = 0;
    const char *data = PyUnicode_AsUTF8AndSize(obj, &size);
    if (data == nullptr)
        return false;
    out.assign(data, static_cast<size_t>(size));
    return true;
}

PyObject *from_string(const std::string &s)
{
    return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

[[gnu::noinline]] void thrower(long long n)
{
    if (n < 0)
        throw std::out_of_range("negative: " + std::to_string(n));
    throw std::runtime_error("caught " + std::to_string(n));
}

// throw_and_catch(n) -> str: the exception never leaves C++.
PyObject *throw_and_catch(PyObject *, PyObject *arg)
{
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred())
        return nullptr;
    std::string message;
    try {
        thrower(n);
    } catch (const std::out_of_range &e) {
        message = std::string("out_of_range: ") + e.what();
    } catch (const std::runtime_error &e) {
        message = std::string("runtime_error: ") + e.what();
    }
    return from_string(message);
}

long long parse_int_impl(const std::string &text)
{
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used, 10);  // throws from inside libstdc++
    } catch (const std::invalid_argument &) {
        throw std::invalid_argument("invalid integer literal: '" + text + "'");
    } catch (const std::out_of_range &) {
        throw std::out_of_range("integer out of range: '" + text + "'");
    }
    std::string_view rest(text);
    rest.remove_prefix(used);
    if (rest.find_first_not_of(" \t\n") != std::string_view::npos)
        throw std::invalid_argument("invalid integer literal: '" + text + "'");
    return value;
}

// parse_int(text) -> int; ValueError / OverflowError come from C++ exceptions.
PyObject *parse_int(PyObject *, PyObject *arg)
{
    std::string text;
    if (!to_string(arg, text))
        return nullptr;
    return guarded([&] { return PyLong_FromLongLong(parse_int_impl(text)); });
}

// parallel_count(nthreads, per_thread) -> int: a mutex-protected counter.
PyObject *parallel_count(PyObject *, PyObject *args)
{
    int nthreads = 0;
    long per_thread = 0;
    if (!PyArg_ParseTuple(args, "il:parallel_count", &nthreads, &per_thread))
        return nullptr;
    if (nthreads < 1 || nthreads > 64 || per_thread < 0) {
        PyErr_SetString(PyExc_ValueError, "need 1 <= nthreads <= 64 and per_thread >= 0");
        return nullptr;
    }
    return guarded([&] {
        std::int64_t counter = 0;
        std::mutex lock;
        std::vector<std::thread> threads;
        Py_BEGIN_ALLOW_THREADS
        try {
            for (int t = 0; t < nthreads; ++t) {
                threads.emplace_back([&] {
                    for (long i = 0; i < per_thread; ++i) {
                        std::lock_guard<std::mutex> guard(lock);
                        ++counter;
                    }
                });
            }
        } catch (...) {
            for (auto &th : threads)
                th.join();
            Py_BLOCK_THREADS
            throw;
        }
        for (auto &th : threads)
            th.join();
        Py_END_ALLOW_THREADS
        return PyLong_FromLongLong(counter);
    });
}

// format_table([(name, value), ...]) -> str with aligned columns.
PyObject *format_table(PyObject *, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "format_table expects a sequence of (name, value)");
    if (seq == nullptr)
        return nullptr;
    std::vector<std::pair<std::string, double>> rows;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject *name = nullptr;
        double value = 0.0;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "Ud", &name, &value)) {
            Py_DECREF(seq);
            return nullptr;
        }
        std::string s;
        if (!to_string(name, s)) {
            Py_DECREF(seq);
            return nullptr;
        }
        rows.emplace_back(std::move(s), value);
    }
    Py_DECREF(seq);
    return guarded([&] {
        std::size_t width = 0;
        for (const auto &[name, value] : rows)
            width = std::max(width, name.size());
        std::ostringstream out;
        for (const auto &[name, value] : rows) {
            out << std::left << std::setw(static_cast<int>(width)) << name << " | "
                << std::right << std::fixed << std::setprecision(3) << std::setw(10)
                << value << '\n';
        }
        return from_string(out.str());
    });
}

// say(text) -> int: writes text and a newline to std::cout.
PyObject *say(PyObject *, PyObject *arg)
{
    std::string text;
    if (!to_string(arg, text))
        return nullptr;
    std::cout << text << std::endl;
    return PyLong_FromSize_t(text.size());
}

// reverse_words(text) -> str: words in reverse order, single-spaced.
PyObject *reverse_words(PyObject *, PyObject *arg)
{
    std::string text;
    if (!to_string(arg, text))
        return nullptr;
    return guarded([&] {
        std::istringstream in(text);
        std::vector<std::string> words;
        for (std::string word; in >> word;)
            words.push_back(word);
        std::reverse(words.begin(), words.end());
        std::string joined;
        for (const auto &w : words) {
            if (!joined.empty())
                joined += ' ';
            joined += w;
        }
        return from_string(joined);
    });
}

// replace_all(text, old, new) -> str
PyObject *replace_all(PyObject *, PyObject *args)
{
    PyObject *a = nullptr, *b = nullptr, *c = nullptr;
    if (!PyArg_ParseTuple(args, "UUU:replace_all", &a, &b, &c))
        return nullptr;
    std::string text, from, to;
    if (!to_string(a, text) || !to_string(b, from) || !to_string(c, to))
        return nullptr;
    return guarded([&] {
        if (from.empty())
            throw std::invalid_argument("replace_all: empty pattern");
        for (std::size_t pos = text.find(from); pos != std::string::npos;
             pos = text.find(from, pos + to.size()))
            text.replace(pos, from.size(), to);
        return from_string(text);
    });
}

PyMethodDef cppext_methods[] = {
    {"throw_and_catch", throw_and_catch, METH_O,
     "throw_and_catch(n) -> message of a C++ exception thrown and caught in C++."},
    {"parse_int", parse_int, METH_O,
     "parse_int(text) -> int via std::stoll; errors become ValueError/OverflowError."},
    {"parallel_count", parallel_count, METH_VARARGS,
     "parallel_count(nthreads, per_thread) -> counter incremented under a std::mutex."},
    {"format_table", format_table, METH_O,
     "format_table(rows) -> aligned text made with std::ostringstream."},
    {"say", say, METH_O, "say(text) -> len(text); prints text to std::cout."},
    {"reverse_words", reverse_words, METH_O, "reverse_words(text) -> words reversed."},
    {"replace_all", replace_all, METH_VARARGS,
     "replace_all(text, old, new) -> text with every old replaced by new."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef cppext_module = {
    PyModuleDef_HEAD_INIT,
    "mw_example._cppext",
    "C++17 functions that use exceptions, threads, iostreams and std::string.",
    -1,
    cppext_methods,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__cppext()
{
    return PyModule_Create(&cppext_module);
}
