/* mw_intree._core: a small C extension that records who built it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#ifndef MW_BUILT_BY
#error "MW_BUILT_BY must be defined by setup.py"
#endif

/* checksum(data) -> Adler-32 of a bytes-like object */
static PyObject *
checksum(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_buffer view;
    uint32_t a = 1, b = 0;
    const unsigned char *p;

    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0)
        return NULL;
    p = view.buf;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(((unsigned long)b << 16) | a);
}

static PyMethodDef methods[] = {
    {"checksum", checksum, METH_O, "checksum(data) -> Adler-32"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mw_intree._core", "Built by the in-tree backend.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    PyObject *m = PyModule_Create(&module);

    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "BUILT_BY", MW_BUILT_BY) < 0
        || PyModule_AddObject(m, "EXTRA_REQUIRES_SEEN",
                              PyBool_FromLong(MW_EXTRA_REQUIRES_SEEN)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
