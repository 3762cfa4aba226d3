/*
 * mw_noshim._core: copy_file() calls copy_file_range, which glibc added in
 * 2.27 (copy_file_range@GLIBC_2.27) with no older version and which no
 * compatibility shim covers. A build for manylinux_2_17 must therefore be
 * refused, naming copy_file_range; one for manylinux_2_28 can pass.
 * Only open/close (GLIBC_2.2.5) are used besides it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* copy_file(src, dst) -> bytes copied; dst is created or truncated. */
static PyObject *
copy_file(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *src_obj, *dst_obj, *src = NULL, *dst = NULL;
    int in_fd = -1, out_fd = -1, saved;
    long long total = 0;
    PyObject *failed_path = NULL;

    if (!PyArg_ParseTuple(args, "OO:copy_file", &src_obj, &dst_obj))
        return NULL;
    if (!PyUnicode_FSConverter(src_obj, &src) || !PyUnicode_FSConverter(dst_obj, &dst))
        goto done;
    in_fd = open(PyBytes_AS_STRING(src), O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        failed_path = src_obj;
        goto fail;
    }
    out_fd = open(PyBytes_AS_STRING(dst), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        failed_path = dst_obj;
        goto fail;
    }
    for (;;) {
        ssize_t n = copy_file_range(in_fd, NULL, out_fd, NULL, 1 << 20, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (n == 0)
            break;
        total += n;
    }
    close(in_fd);
    if (close(out_fd) != 0) {
        in_fd = out_fd = -1;
        failed_path = dst_obj;
        goto fail;
    }
    Py_DECREF(src);
    Py_DECREF(dst);
    return PyLong_FromLongLong(total);

fail:
    saved = errno;
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    errno = saved;
    if (failed_path != NULL)
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, failed_path);
    else
        PyErr_SetFromErrno(PyExc_OSError);
done:
    Py_XDECREF(src);
    Py_XDECREF(dst);
    return NULL;
}

static PyMethodDef methods[] = {
    {"copy_file", copy_file, METH_VARARGS,
     "copy_file(src, dst) -> bytes copied, with copy_file_range(2)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mw_noshim._core", "Uses copy_file_range (glibc 2.27).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&module);
}
