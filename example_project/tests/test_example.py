"""Behaviour of mw_example's C and C++ extensions (unittest only, Python 3.9+).

Run from a directory where the built mw_example is importable:
    python3 -m unittest discover -s tests -v
"""

import math
import os
import subprocess
import sys
import tempfile
import threading
import unittest

import mw_example
from mw_example import _cext, _cppext


def _subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


class TestBuiltModules(unittest.TestCase):
    def test_extensions_are_shared_objects(self):
        for mod in (_cext, _cppext):
            self.assertTrue(mod.__file__.endswith(".so"), mod.__file__)

    def test_version(self):
        self.assertEqual(mw_example.__version__, "0.1.0")


class TestCExtension(unittest.TestCase):
    def test_file_size_uses_stat(self):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(b"x" * 12345)
        try:
            self.assertEqual(_cext.file_size(f.name), 12345)
            self.assertEqual(_cext.file_size(f.name.encode()), 12345)
        finally:
            os.unlink(f.name)

    def test_file_size_missing_raises_oserror(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "missing")
            with self.assertRaises(FileNotFoundError) as cm:
                _cext.file_size(missing)
            self.assertEqual(cm.exception.filename, missing)

    def test_fd_flags_uses_fcntl(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "f")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                flags = _cext.fd_flags(fd)
                self.assertEqual(flags & os.O_ACCMODE, os.O_WRONLY)
                self.assertTrue(flags & os.O_APPEND)
            finally:
                os.close(fd)
            with open(path, "rb") as f:
                flags = _cext.fd_flags(f)
                self.assertEqual(flags & os.O_ACCMODE, os.O_RDONLY)
                self.assertFalse(flags & os.O_APPEND)

    def test_fd_flags_bad_fd(self):
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with self.assertRaises(OSError):
            _cext.fd_flags(r)

    def test_thread_sum_uses_pthreads(self):
        for n in (0, 1, 10, 100003):
            for nthreads in (1, 3, 8):
                expected = sum(i * i for i in range(n)) % 2**64
                self.assertEqual(_cext.thread_sum(n, nthreads), expected, (n, nthreads))
        self.assertEqual(_cext.thread_sum(1000), sum(i * i for i in range(1000)))

    def test_thread_sum_rejects_bad_thread_count(self):
        with self.assertRaises(ValueError):
            _cext.thread_sum(10, 0)
        with self.assertRaises(ValueError):
            _cext.thread_sum(10, 1000)

    def test_dl_cos_via_dlopen(self):
        for x in (0.0, 0.5, 1.0, 3.0, -2.25):
            self.assertAlmostEqual(_cext.dl_cos(x), math.cos(x), places=12)
            self.assertAlmostEqual(_cext.dl_cos(x, "libm.so.6"), math.cos(x), places=12)

    def test_dl_cos_global_scope(self):
        # dlopen(NULL): the interpreter process has libm loaded (math imports it).
        self.assertAlmostEqual(_cext.dl_cos(1.0, None), math.cos(1.0), places=12)

    def test_dl_cos_missing_library(self):
        with self.assertRaises(OSError) as cm:
            _cext.dl_cos(1.0, "libdoes-not-exist-mw.so.42")
        self.assertIn("dlopen", str(cm.exception))

    def test_math_triple(self):
        for x, y in ((1.0, 2.0), (2.5, 0.5), (10.0, -1.5), (1e-3, 3.0)):
            e, lg, p = _cext.math_triple(x, y)
            self.assertAlmostEqual(e, math.exp(x), delta=1e-12 * math.exp(x))
            self.assertAlmostEqual(lg, math.log(x), places=12)
            self.assertAlmostEqual(p, math.pow(x, y), delta=1e-12 * abs(math.pow(x, y)))
        with self.assertRaises(ValueError):
            _cext.math_triple(0.0, 1.0)

    def test_random_bytes_uses_getrandom(self):
        self.assertEqual(_cext.random_bytes(0), b"")
        a = _cext.random_bytes(64)
        b = _cext.random_bytes(64)
        self.assertIsInstance(a, bytes)
        self.assertEqual(len(a), 64)
        self.assertNotEqual(a, b)
        self.assertEqual(len(_cext.random_bytes(100000)), 100000)
        with self.assertRaises(ValueError):
            _cext.random_bytes(-1)

    def test_copy_bytes_memcpy(self):
        for data in (b"", b"a", bytes(range(256)) * 40):
            copied = _cext.copy_bytes(data)
            self.assertEqual(copied, data)
        self.assertEqual(_cext.copy_bytes(bytearray(b"xyz")), b"xyz")
        self.assertEqual(_cext.copy_bytes(memoryview(b"hello")), b"hello")

    def test_secure_zero_explicit_bzero(self):
        buf = bytearray(b"secret-key-material")
        self.assertEqual(_cext.secure_zero(buf), len(buf))
        self.assertEqual(buf, bytearray(len(buf)))
        with self.assertRaises(BufferError):
            _cext.secure_zero(b"read-only")

    def test_threads_release_gil(self):
        results = []

        def work():
            results.append(_cext.thread_sum(200000, 2))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [sum(i * i for i in range(200000))] * 4)


class TestCppExtension(unittest.TestCase):
    def test_throw_and_catch(self):
        self.assertEqual(_cppext.throw_and_catch(42), "runtime_error: caught 42")
        self.assertEqual(_cppext.throw_and_catch(-7), "out_of_range: negative: -7")
        for i in range(1000):  # the unwinder must keep working
            self.assertEqual(_cppext.throw_and_catch(i), "runtime_error: caught %d" % i)

    def test_parse_int(self):
        self.assertEqual(_cppext.parse_int("123"), 123)
        self.assertEqual(_cppext.parse_int("  -9000 "), -9000)

    def test_parse_int_translates_exceptions(self):
        with self.assertRaises(ValueError) as cm:
            _cppext.parse_int("abc")
        self.assertIn("invalid integer literal: 'abc'", str(cm.exception))
        with self.assertRaises(ValueError):
            _cppext.parse_int("12x")
        with self.assertRaises(OverflowError) as cm:
            _cppext.parse_int("9" * 40)
        self.assertIn("out of range", str(cm.exception))

    def test_parallel_count(self):
        self.assertEqual(_cppext.parallel_count(1, 0), 0)
        self.assertEqual(_cppext.parallel_count(8, 20000), 160000)
        with self.assertRaises(ValueError):
            _cppext.parallel_count(0, 1)

    def test_format_table(self):
        text = _cppext.format_table([("a", 1.0), ("long name", -2.5), ("pi", 3.14159)])
        self.assertEqual(
            text,
            "a         |      1.000\n"
            "long name |     -2.500\n"
            "pi        |      3.142\n",
        )
        self.assertEqual(_cppext.format_table([]), "")
        with self.assertRaises(TypeError):
            _cppext.format_table([("a", "not a number")])

    def test_say_writes_to_std_cout(self):
        code = "import mw_example; n = mw_example.say('hello from iostream'); print('n=%d' % n)"
        out = subprocess.run(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_subprocess_env(),
            cwd=os.getcwd(),
            check=True,
        ).stdout.decode()
        self.assertEqual(out.splitlines(), ["hello from iostream", "n=19"])

    def test_string_manipulation(self):
        self.assertEqual(_cppext.reverse_words("hello big  world"), "world big hello")
        self.assertEqual(_cppext.reverse_words(""), "")
        self.assertEqual(_cppext.reverse_words("caf\u00e9 na\u00efve"), "na\u00efve caf\u00e9")
        self.assertEqual(_cppext.replace_all("a-b-c", "-", "--"), "a--b--c")
        self.assertEqual(_cppext.replace_all("aaaa", "aa", "b"), "bb")
        with self.assertRaises(ValueError):
            _cppext.replace_all("abc", "", "x")


if __name__ == "__main__":
    unittest.main()
