/* PyUnicode_AsUTF8 is not in the Stable ABI of CPython 3.13 (it was added to the Limited API
   in a 3.13 alpha and taken out again): a cp39-abi3 module must not call it. */
#include <Python.h>
#include <string.h>

Py_ssize_t
mw_utf8_length(PyObject *text)
{
    const char *utf8 = PyUnicode_AsUTF8(text);
    return utf8 == NULL ? -1 : (Py_ssize_t)strlen(utf8);
}
