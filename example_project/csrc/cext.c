/*
 * mw_example._cext: each function really calls a libc/libm/libdl/libpthread
 * function that a modern glibc (2.36) binds to a symbol version newer than
 * GLIBC_2.17, so a normal build of this file needs manylinux_2_34.
 *
 *   file_size    stat          (stat64@GLIBC_2.33 with _FILE_OFFSET_BITS=64)
 *   fd_flags     fcntl         (fcntl64@GLIBC_2.28)
 *   thread_sum   pthread_create/pthread_join (GLIBC_2.34)
 *   dl_cos       dlopen/dlsym/dlclose (GLIBC_2.34)
 *   math_triple  exp/log/pow   (GLIBC_2.29)
 *   random_bytes getrandom     (GLIBC_2.25)
 *   copy_bytes   memcpy        (GLIBC_2.14), explicit_bzero (GLIBC_2.25)
 *   secure_zero  explicit_bzero (GLIBC_2.25)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_RANDOM_BYTES (1 << 20)

static PyObject *
file_size(PyObject *Py_UNUSED(self), PyObject *path)
{
    PyObject *encoded = NULL;
    struct stat st;
    int rc;

    if (!PyUnicode_FSConverter(path, &encoded))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = stat(PyBytes_AS_STRING(encoded), &st);
    Py_END_ALLOW_THREADS
    Py_DECREF(encoded);
    if (rc != 0)
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    return PyLong_FromLongLong((long long)st.st_size);
}

static PyObject *
fd_flags(PyObject *Py_UNUSED(self), PyObject *fileobj)
{
    int fd = PyObject_AsFileDescriptor(fileobj);
    int flags;

    if (fd < 0)
        return NULL;
    flags = fcntl(fd, F_GETFL);
    if (flags == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(flags);
}

typedef struct {
    uint64_t start;
    uint64_t stop;
    uint64_t result;
} range_job;

static void *
sum_squares(void *arg)
{
    range_job *job = (range_job *)arg;
    uint64_t total = 0;

    for (uint64_t i = job->start; i < job->stop; i++)
        total += i * i;
    job->result = total;
    return NULL;
}

/* thread_sum(n, nthreads=4) -> sum(i*i for i in range(n)) mod 2**64 */
static PyObject *
thread_sum(PyObject *Py_UNUSED(self), PyObject *args)
{
    unsigned long long n;
    int nthreads = 4, started = 0, err = 0;
    pthread_t threads[MAX_THREADS];
    range_job jobs[MAX_THREADS];
    uint64_t total = 0;

    if (!PyArg_ParseTuple(args, "K|i:thread_sum", &n, &nthreads))
        return NULL;
    if (nthreads < 1 || nthreads > MAX_THREADS)
        return PyErr_Format(PyExc_ValueError, "nthreads must be in 1..%d, not %d",
                            MAX_THREADS, nthreads);
    Py_BEGIN_ALLOW_THREADS
    for (int t = 0; t < nthreads; t++) {
        jobs[t].start = n * (uint64_t)t / (uint64_t)nthreads;
        jobs[t].stop = n * (uint64_t)(t + 1) / (uint64_t)nthreads;
        jobs[t].result = 0;
        err = pthread_create(&threads[t], NULL, sum_squares, &jobs[t]);
        if (err != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        total += jobs[t].result;
    }
    Py_END_ALLOW_THREADS
    if (err != 0) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromUnsignedLongLong(total);
}

/* dl_cos(x, library="libm.so.6"): cos(x) through dlopen/dlsym; library=None
 * looks "cos" up in the global scope of the process (dlopen(NULL)). */
static PyObject *
dl_cos(PyObject *Py_UNUSED(self), PyObject *args)
{
    double x;
    const char *library = "libm.so.6";
    void *handle;
    double (*cos_fn)(double);
    const char *error;
    double result;

    if (!PyArg_ParseTuple(args, "d|z:dl_cos", &x, &library))
        return NULL;
    handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        return PyErr_Format(PyExc_OSError, "dlopen failed: %s", dlerror());
    dlerror();
    *(void **)(&cos_fn) = dlsym(handle, "cos");
    error = dlerror();
    if (error != NULL || cos_fn == NULL) {
        PyErr_Format(PyExc_OSError, "dlsym(cos) failed: %s",
                     error ? error : "NULL symbol");
        dlclose(handle);
        return NULL;
    }
    result = cos_fn(x);
    dlclose(handle);
    return PyFloat_FromDouble(result);
}

/* math_triple(x, y) -> (exp(x), log(x), pow(x, y)) for x > 0 */
static PyObject *
math_triple(PyObject *Py_UNUSED(self), PyObject *args)
{
    double x, y;

    if (!PyArg_ParseTuple(args, "dd:math_triple", &x, &y))
        return NULL;
    if (!(x > 0.0))
        return PyErr_Format(PyExc_ValueError, "x must be > 0, not %R",
                            PyTuple_GET_ITEM(args, 0));
    return Py_BuildValue("(ddd)", exp(x), log(x), pow(x, y));
}

static PyObject *
random_bytes(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg), filled = 0;
    PyObject *result;
    char *buf;

    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0 || n > MAX_RANDOM_BYTES)
        return PyErr_Format(PyExc_ValueError, "n must be in 0..%d, not %zd",
                            MAX_RANDOM_BYTES, n);
    result = PyBytes_FromStringAndSize(NULL, n);
    if (result == NULL)
        return NULL;
    buf = PyBytes_AS_STRING(result);
    while (filled < n) {
        ssize_t got = getrandom(buf + filled, (size_t)(n - filled), 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            Py_DECREF(result);
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        filled += got;
    }
    return result;
}

/* copy_bytes(data) -> bytes: memcpy into a scratch buffer, build the result
 * from it, then wipe the scratch buffer with explicit_bzero. */
static PyObject *
copy_bytes(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_buffer view;
    PyObject *result;
    char *scratch;

    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0)
        return NULL;
    scratch = malloc(view.len > 0 ? (size_t)view.len : 1);
    if (scratch == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    memcpy(scratch, view.buf, (size_t)view.len);
    result = PyBytes_FromStringAndSize(scratch, view.len);
    explicit_bzero(scratch, (size_t)view.len);
    free(scratch);
    PyBuffer_Release(&view);
    return result;
}

/* secure_zero(buffer) -> int: zero a writable buffer in place */
static PyObject *
secure_zero(PyObject *Py_UNUSED(self), PyObject *arg)
{
    Py_buffer view;
    Py_ssize_t len;

    if (PyObject_GetBuffer(arg, &view, PyBUF_WRITABLE) != 0)
        return NULL;
    explicit_bzero(view.buf, (size_t)view.len);
    len = view.len;
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(len);
}

static PyMethodDef cext_methods[] = {
    {"file_size", file_size, METH_O, "file_size(path) -> size in bytes, from stat()."},
    {"fd_flags", fd_flags, METH_O, "fd_flags(fd_or_file) -> fcntl(fd, F_GETFL)."},
    {"thread_sum", thread_sum, METH_VARARGS,
     "thread_sum(n, nthreads=4) -> sum(i*i for i in range(n)) mod 2**64, on pthreads."},
    {"dl_cos", dl_cos, METH_VARARGS,
     "dl_cos(x, library='libm.so.6') -> cos(x) looked up with dlopen/dlsym."},
    {"math_triple", math_triple, METH_VARARGS,
     "math_triple(x, y) -> (exp(x), log(x), pow(x, y))."},
    {"random_bytes", random_bytes, METH_O, "random_bytes(n) -> n bytes from getrandom()."},
    {"copy_bytes", copy_bytes, METH_O,
     "copy_bytes(data) -> bytes copied with memcpy through a wiped scratch buffer."},
    {"secure_zero", secure_zero, METH_O,
     "secure_zero(buffer) -> number of bytes zeroed in place with explicit_bzero."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cext_module = {
    PyModuleDef_HEAD_INIT,
    "mw_example._cext",
    "C functions that pull in new glibc symbol versions.",
    -1,
    cext_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__cext(void)
{
    return PyModule_Create(&cext_module);
}
