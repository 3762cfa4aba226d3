// mw_cppsimple._core: std::string and C++ exceptions translated to Python ones.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <string>

namespace {

PyObject *to_py(const std::string &s)
{
    return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

template <class F>
PyObject *guarded(F &&body)
{
    try {
        return body();
    } catch (const std::domain_error &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::length_error &e) {
        PyErr_SetString(PyExc_OverflowError, e.what());
    } catch (const std::exception &e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    return nullptr;
}

PyObject *greet(PyObject *, PyObject *args)
{
    const char *name = nullptr;
    if (!PyArg_ParseTuple(args, "s:greet", &name))
        return nullptr;
    return guarded([&] { return to_py("Hello, " + std::string(name) + "!"); });
}

double checked_sqrt_impl(double x)
{
    if (x < 0)
        throw std::domain_error("checked_sqrt: negative argument " + std::to_string(x));
    return std::sqrt(x);
}

PyObject *checked_sqrt(PyObject *, PyObject *arg)
{
    double x = PyFloat_AsDouble(arg);
    if (x == -1.0 && PyErr_Occurred())
        return nullptr;
    return guarded([&] { return PyFloat_FromDouble(checked_sqrt_impl(x)); });
}

PyObject *repeat(PyObject *, PyObject *args)
{
    const char *text = nullptr;
    Py_ssize_t count = 0;
    if (!PyArg_ParseTuple(args, "sn:repeat", &text, &count))
        return nullptr;
    return guarded([&] {
        if (count < 0)
            throw std::domain_error("repeat: negative count");
        std::string unit(text), out;
        if (!unit.empty() && static_cast<std::size_t>(count) > (std::size_t{1} << 24) / unit.size())
            throw std::length_error("repeat: result too long");
        for (Py_ssize_t i = 0; i < count; ++i)
            out += unit;
        return to_py(out);
    });
}

PyObject *upper(PyObject *, PyObject *args)
{
    const char *text = nullptr;
    if (!PyArg_ParseTuple(args, "s:upper", &text))
        return nullptr;
    std::string s(text);
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return to_py(s);
}

PyMethodDef methods[] = {
    {"greet", greet, METH_VARARGS, "greet(name) -> 'Hello, name!'"},
    {"checked_sqrt", checked_sqrt, METH_O, "checked_sqrt(x) -> sqrt(x); ValueError if x < 0"},
    {"repeat", repeat, METH_VARARGS, "repeat(text, n) -> text * n"},
    {"upper", upper, METH_VARARGS, "upper(text) -> ASCII upper case"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mw_cppsimple._core", "A small C++ extension.", -1, methods,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__core()
{
    return PyModule_Create(&module);
}
