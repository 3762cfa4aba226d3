/* Calls into libyaml and libffi: a libffi closure needs executable memory (memfd_create
   on new glibc), a libffi call goes through its assembly trampolines. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <ffi.h>
#include <yaml.h>

static PyObject *yaml_version(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(yaml_get_version_string());
}

static void add_one(ffi_cif *cif, void *ret, void **args, void *data) {
    *(ffi_arg *)ret = *(int *)args[0] + 1;
}

static PyObject *call_strlen(PyObject *self, PyObject *arg) {
    const char *text = PyUnicode_AsUTF8(arg);
    if (!text) return NULL;
    ffi_cif cif;
    ffi_type *types[1] = {&ffi_type_pointer};
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_uint64, types) != FFI_OK)
        return PyErr_Format(PyExc_RuntimeError, "ffi_prep_cif failed");
    void *values[1] = {&text};
    ffi_arg length = 0;
    ffi_call(&cif, FFI_FN(strlen), &length, values);

    /* A closure: int add_one(int), called through its executable trampoline. */
    void *code = NULL;
    ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
    if (!closure) return PyErr_Format(PyExc_RuntimeError, "ffi_closure_alloc failed");
    ffi_cif ccif;
    ffi_type *ctypes_[1] = {&ffi_type_sint};
    if (ffi_prep_cif(&ccif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, ctypes_) != FFI_OK ||
        ffi_prep_closure_loc(closure, &ccif, add_one, NULL, code) != FFI_OK) {
        ffi_closure_free(closure);
        return PyErr_Format(PyExc_RuntimeError, "ffi_prep_closure_loc failed");
    }
    int plus = ((int (*)(int))code)((int)length);
    ffi_closure_free(closure);
    return PyLong_FromLong(plus);
}

static PyMethodDef methods[] = {
    {"yaml_version", yaml_version, METH_NOARGS, "libyaml's version string."},
    {"call_strlen", call_strlen, METH_O, "strlen(text) + 1, called through libffi (a call and a closure)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "mw_extlibs._core", NULL, -1, methods};

PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&module); }
