// mw_cppheavy._core: the parts of the C++ runtime that pull in the newest
// libstdc++/glibc symbols on a modern host:
//
//   thread_local_round   thread_local with a non-trivial destructor
//                        (__cxa_thread_atexit_impl)
//   wait_for             std::condition_variable::wait_for on steady_clock
//                        (pthread_cond_clockwait)
//   fs_roundtrip         std::filesystem create/list/size/remove_all (stat, ...)
//   fs_temp_dir          std::filesystem::temp_directory_path
//   random_values        std::random_device (getentropy/getrandom/arc4random)
//   throw_runtime        std::runtime_error thrown deep inside -> RuntimeError
//   call_with_each       Python callback that raises, unwound through C++ frames
//   rethrow_from_thread  exception_ptr carried from a std::thread
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Thrown when a Python call failed; the Python error indicator stays set.
struct PythonError {};

void set_python_error()
{
    try {
        throw;
    } catch (const PythonError &) {
        // already set by the failed Python call
    } catch (const fs::filesystem_error &e) {
        // Make the instance here so OSError picks its errno subclass
        // (FileNotFoundError, ...); a bare PyErr_SetObject(OSError, args)
        // can leave the raised type OSError (seen with Python 3.9).
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", e.code().value(), e.what());
        if (exc != nullptr) {
            PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc)), exc);
            Py_DECREF(exc);
        }
    } catch (const std::system_error &e) {
        PyErr_SetString(PyExc_OSError, e.what());
    } catch (const std::invalid_argument &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
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

PyObject *from_string(const std::string &s)
{
    return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

// Releases the GIL for a scope and takes it back even when an exception leaves it.
class ReleaseGil {
public:
    ReleaseGil() : state_(PyEval_SaveThread()) {}
    ~ReleaseGil() { PyEval_RestoreThread(state_); }
    ReleaseGil(const ReleaseGil &) = delete;
    ReleaseGil &operator=(const ReleaseGil &) = delete;

private:
    PyThreadState *state_;
};

// Joins every joinable thread when the scope ends (a joinable std::thread
// destroyed during unwinding would call std::terminate).
class JoinAll {
public:
    explicit JoinAll(std::vector<std::thread> &threads) : threads_(threads) {}
    ~JoinAll()
    {
        for (auto &t : threads_)
            if (t.joinable())
                t.join();
    }
    JoinAll(const JoinAll &) = delete;
    JoinAll &operator=(const JoinAll &) = delete;

private:
    std::vector<std::thread> &threads_;
};

// ---- thread_local with a non-trivial destructor --------------------------

std::atomic<long> tls_constructed{0};
std::atomic<long> tls_destroyed{0};

struct TlsTracker {
    std::vector<long> slots;
    TlsTracker() : slots(8, 0) { ++tls_constructed; }
    ~TlsTracker() { ++tls_destroyed; }
    long touch(long i)
    {
        slots[static_cast<std::size_t>(i) % slots.size()] += i;
        return slots[0];
    }
};

thread_local TlsTracker tls_tracker;

// thread_local_round(nthreads) -> (constructed, destroyed) during the round
PyObject *thread_local_round(PyObject *, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return nullptr;
    if (n < 0 || n > 256) {
        PyErr_SetString(PyExc_ValueError, "nthreads must be in 0..256");
        return nullptr;
    }
    return guarded([&] {
        long c0 = tls_constructed, d0 = tls_destroyed;
        {
            ReleaseGil nogil;
            std::vector<std::thread> threads;
            JoinAll join_all(threads);
            for (long t = 0; t < n; ++t)
                threads.emplace_back([t] {
                    for (long i = 0; i < 100; ++i)
                        tls_tracker.touch(i + t);
                });
        }
        return Py_BuildValue("(ll)", tls_constructed - c0, tls_destroyed - d0);
    });
}

// ---- condition_variable::wait_for -----------------------------------------

// wait_for(timeout_ms, notify_after_ms=-1) -> (notified, elapsed_ms)
PyObject *wait_for(PyObject *, PyObject *args)
{
    long timeout_ms = 0, notify_after_ms = -1;
    if (!PyArg_ParseTuple(args, "l|l:wait_for", &timeout_ms, &notify_after_ms))
        return nullptr;
    if (timeout_ms < 0 || timeout_ms > 60000 || notify_after_ms > 60000) {
        PyErr_SetString(PyExc_ValueError, "timeout_ms and notify_after_ms must be <= 60000");
        return nullptr;
    }
    return guarded([&] {
        std::mutex lock;
        std::condition_variable cv;
        bool ready = false, notified = false;
        double elapsed_ms = 0.0;
        {
            ReleaseGil nogil;
            std::vector<std::thread> notifier;
            JoinAll join_all(notifier);
            if (notify_after_ms >= 0)
                notifier.emplace_back([&] {
                    std::this_thread::sleep_for(std::chrono::milliseconds(notify_after_ms));
                    {
                        std::lock_guard<std::mutex> g(lock);
                        ready = true;
                    }
                    cv.notify_one();
                });
            auto start = std::chrono::steady_clock::now();
            {
                std::unique_lock<std::mutex> lk(lock);
                notified = cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return ready; });
            }
            elapsed_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - start)
                             .count();
        }
        return Py_BuildValue("(Od)", notified ? Py_True : Py_False, elapsed_ms);
    });
}

// ---- std::filesystem ----------------------------------------------------------

std::string random_suffix()
{
    std::random_device rd;
    std::ostringstream out;
    out << std::hex << rd() << rd();
    return out.str();
}

// fs_roundtrip(base_dir, names) -> ([(name, size), ...] sorted, removed, exists_after)
// Creates base_dir/mw_cppheavy-XXXX, writes each file (size = 10 * len(name)),
// lists the directory, then removes it with remove_all.
PyObject *fs_roundtrip(PyObject *, PyObject *args)
{
    PyObject *base_obj = nullptr, *names_obj = nullptr;
    if (!PyArg_ParseTuple(args, "O&O:fs_roundtrip", PyUnicode_FSConverter, &base_obj, &names_obj))
        return nullptr;
    std::string base(PyBytes_AS_STRING(base_obj));
    Py_DECREF(base_obj);
    std::vector<std::string> names;
    PyObject *seq = PySequence_Fast(names_obj, "names must be a sequence of str");
    if (seq == nullptr)
        return nullptr;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); ++i) {
        const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
        if (s == nullptr) {
            Py_DECREF(seq);
            return nullptr;
        }
        names.emplace_back(s);
    }
    Py_DECREF(seq);
    return guarded([&] {
        for (const auto &name : names)
            if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
                throw std::invalid_argument("bad file name: '" + name + "'");
        if (!fs::is_directory(base))
            throw fs::filesystem_error("fs_roundtrip: base is not a directory", base,
                                       std::make_error_code(std::errc::no_such_file_or_directory));
        fs::path dir = fs::path(base) / ("mw_cppheavy-" + random_suffix());
        fs::create_directories(dir / "sub");
        for (const auto &name : names) {
            std::ofstream out(dir / name, std::ios::binary);
            for (int i = 0; i < 10; ++i)
                out << name;
        }
        std::vector<std::pair<std::string, std::uintmax_t>> listing;
        for (const auto &entry : fs::directory_iterator(dir))
            if (entry.is_regular_file())
                listing.emplace_back(entry.path().filename().string(), entry.file_size());
        std::sort(listing.begin(), listing.end());
        std::uintmax_t removed = fs::remove_all(dir);
        bool exists_after = fs::exists(dir);
        PyObject *list = PyList_New(0);
        if (list == nullptr)
            return static_cast<PyObject *>(nullptr);
        for (const auto &[name, size] : listing) {
            PyObject *item = Py_BuildValue("(NK)", from_string(name),
                                           static_cast<unsigned long long>(size));
            if (item == nullptr || PyList_Append(list, item) < 0) {
                Py_XDECREF(item);
                Py_DECREF(list);
                return static_cast<PyObject *>(nullptr);
            }
            Py_DECREF(item);
        }
        return Py_BuildValue("(NKO)", list, static_cast<unsigned long long>(removed),
                             exists_after ? Py_True : Py_False);
    });
}

PyObject *fs_temp_dir(PyObject *, PyObject *)
{
    return guarded([] { return from_string(fs::temp_directory_path().string()); });
}

// ---- std::random_device ----------------------------------------------------------

// random_values(n, token="default") -> [n unsigned 32-bit values]
PyObject *random_values(PyObject *, PyObject *args)
{
    Py_ssize_t n = 0;
    const char *token = "default";
    if (!PyArg_ParseTuple(args, "n|s:random_values", &n, &token))
        return nullptr;
    if (n < 0 || n > 100000) {
        PyErr_SetString(PyExc_ValueError, "n must be in 0..100000");
        return nullptr;
    }
    return guarded([&] {
        std::random_device rd{std::string(token)};
        PyObject *list = PyList_New(n);
        if (list == nullptr)
            return static_cast<PyObject *>(nullptr);
        for (Py_ssize_t i = 0; i < n; ++i) {
            unsigned int v;
            try {
                v = rd();
            } catch (...) {
                Py_DECREF(list);
                throw;
            }
            PyList_SET_ITEM(list, i, PyLong_FromUnsignedLong(v));
        }
        return list;
    });
}

// ---- exceptions across frames, threads and Python callbacks ------------------

[[gnu::noinline]] void throw_at_depth(const std::string &msg, int depth)
{
    std::vector<std::string> frame_local(1, msg);  // destroyed while unwinding
    if (depth <= 0)
        throw std::runtime_error(msg);
    throw_at_depth(msg, depth - 1);
}

// throw_runtime(msg, depth=3): std::runtime_error from depth frames down -> RuntimeError
PyObject *throw_runtime(PyObject *, PyObject *args)
{
    const char *msg = nullptr;
    int depth = 3;
    if (!PyArg_ParseTuple(args, "s|i:throw_runtime", &msg, &depth))
        return nullptr;
    return guarded([&]() -> PyObject * {
        throw_at_depth(msg, std::min(depth, 1000));
        Py_RETURN_NONE;
    });
}

std::atomic<long> guards_live{0};

struct Guard {
    Guard() { ++guards_live; }
    ~Guard() { --guards_live; }
    Guard(const Guard &) = delete;
    Guard &operator=(const Guard &) = delete;
};

PyObject *call_one(PyObject *callback, PyObject *item)
{
    Guard guard;
    PyObject *result = PyObject_CallFunctionObjArgs(callback, item, nullptr);
    if (result == nullptr)
        throw PythonError{};
    return result;
}

// call_with_each(callback, items) -> [callback(x) for x in items]; a Python
// exception in the callback unwinds the C++ frames (Guards) and propagates.
PyObject *call_with_each(PyObject *, PyObject *args)
{
    PyObject *callback = nullptr, *items = nullptr;
    if (!PyArg_ParseTuple(args, "OO:call_with_each", &callback, &items))
        return nullptr;
    return guarded([&]() -> PyObject * {
        Guard outer;
        PyObject *seq = PySequence_Fast(items, "items must be a sequence");
        if (seq == nullptr)
            throw PythonError{};
        std::vector<PyObject *> results;
        try {
            for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); ++i)
                results.push_back(call_one(callback, PySequence_Fast_GET_ITEM(seq, i)));
        } catch (...) {
            for (PyObject *r : results)
                Py_DECREF(r);
            Py_DECREF(seq);
            throw;
        }
        Py_DECREF(seq);
        PyObject *list = PyList_New(static_cast<Py_ssize_t>(results.size()));
        if (list == nullptr) {
            for (PyObject *r : results)
                Py_DECREF(r);
            throw PythonError{};
        }
        for (std::size_t i = 0; i < results.size(); ++i)
            PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), results[i]);
        return list;
    });
}

PyObject *guards_alive(PyObject *, PyObject *)
{
    return PyLong_FromLong(guards_live);
}

// rethrow_from_thread(msg): a std::thread throws, the exception_ptr is rethrown here
PyObject *rethrow_from_thread(PyObject *, PyObject *args)
{
    const char *msg = nullptr;
    if (!PyArg_ParseTuple(args, "s:rethrow_from_thread", &msg))
        return nullptr;
    std::string text(msg);
    return guarded([&]() -> PyObject * {
        std::exception_ptr error;
        {
            ReleaseGil nogil;
            std::vector<std::thread> worker;
            JoinAll join_all(worker);
            worker.emplace_back([&] {
                try {
                    throw_at_depth("from thread: " + text, 2);
                } catch (...) {
                    error = std::current_exception();
                }
            });
        }
        if (error)
            std::rethrow_exception(error);
        Py_RETURN_NONE;
    });
}

PyMethodDef methods[] = {
    {"thread_local_round", thread_local_round, METH_O,
     "thread_local_round(nthreads) -> (constructed, destroyed) thread_local trackers"},
    {"wait_for", wait_for, METH_VARARGS,
     "wait_for(timeout_ms, notify_after_ms=-1) -> (notified, elapsed_ms)"},
    {"fs_roundtrip", fs_roundtrip, METH_VARARGS,
     "fs_roundtrip(base_dir, names) -> (listing, removed, exists_after)"},
    {"fs_temp_dir", fs_temp_dir, METH_NOARGS, "fs_temp_dir() -> std::filesystem::temp_directory_path()"},
    {"random_values", random_values, METH_VARARGS,
     "random_values(n, token='default') -> list of std::random_device values"},
    {"throw_runtime", throw_runtime, METH_VARARGS,
     "throw_runtime(msg, depth=3): raises RuntimeError(msg) from a C++ exception"},
    {"call_with_each", call_with_each, METH_VARARGS,
     "call_with_each(callback, items) -> [callback(x) for x in items]"},
    {"guards_alive", guards_alive, METH_NOARGS, "guards_alive() -> live RAII guards (0 when idle)"},
    {"rethrow_from_thread", rethrow_from_thread, METH_VARARGS,
     "rethrow_from_thread(msg): RuntimeError carried from a std::thread"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "mw_cppheavy._core", "C++17 runtime features.", -1, methods,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__core()
{
    return PyModule_Create(&module);
}
