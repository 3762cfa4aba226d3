/* One function that needs both libraries: the project's own (static) and libmwnopic (bundled). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int mwclib_answer(void);
const char *mwnopic_message(void);

static PyObject *answer(PyObject *self, PyObject *args) {
    return Py_BuildValue("(is)", mwclib_answer(), mwnopic_message());
}

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "(the project's library's answer, the external library's message)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_core", NULL, -1, methods};

PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&module); }
