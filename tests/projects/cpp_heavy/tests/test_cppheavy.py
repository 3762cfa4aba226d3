import os
import tempfile
import threading
import unittest

import mw_cppheavy
from mw_cppheavy import _core


class TestModule(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)


class TestThreadLocal(unittest.TestCase):
    def test_destructors_run_at_thread_exit(self):
        for n in (1, 4, 16):
            self.assertEqual(mw_cppheavy.thread_local_round(n), (n, n))
        self.assertEqual(mw_cppheavy.thread_local_round(0), (0, 0))

    def test_from_python_threads(self):
        results = []

        def work():
            results.append(mw_cppheavy.thread_local_round(3))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 4)
        # the rounds may overlap, so each sees at least its own threads
        for constructed, destroyed in results:
            self.assertGreaterEqual(constructed, 3)
            self.assertGreaterEqual(destroyed, 3)


class TestConditionVariable(unittest.TestCase):
    def test_times_out(self):
        notified, elapsed = mw_cppheavy.wait_for(50)
        self.assertFalse(notified)
        self.assertGreaterEqual(elapsed, 45.0)
        self.assertLess(elapsed, 5000.0)

    def test_notified_before_timeout(self):
        notified, elapsed = mw_cppheavy.wait_for(10000, 10)
        self.assertTrue(notified)
        self.assertLess(elapsed, 9000.0)

    def test_rejects_bad_timeout(self):
        with self.assertRaises(ValueError):
            mw_cppheavy.wait_for(-1)


class TestFilesystem(unittest.TestCase):
    def test_roundtrip(self):
        with tempfile.TemporaryDirectory() as base:
            listing, removed, exists_after = mw_cppheavy.fs_roundtrip(base, ["b.txt", "a.bin", "ccc"])
            self.assertEqual(listing, [("a.bin", 50), ("b.txt", 50), ("ccc", 30)])
            self.assertEqual(removed, 5)  # 3 files, sub/, the directory itself
            self.assertFalse(exists_after)
            self.assertEqual(os.listdir(base), [])

    def test_missing_base_raises_oserror(self):
        with tempfile.TemporaryDirectory() as base:
            with self.assertRaises(FileNotFoundError):
                mw_cppheavy.fs_roundtrip(os.path.join(base, "missing"), ["x"])

    def test_bad_name_raises_value_error(self):
        with tempfile.TemporaryDirectory() as base:
            with self.assertRaises(ValueError):
                mw_cppheavy.fs_roundtrip(base, ["../escape"])
            self.assertEqual(os.listdir(base), [])

    def test_temp_dir(self):
        self.assertTrue(os.path.isdir(mw_cppheavy.fs_temp_dir()))


class TestRandomDevice(unittest.TestCase):
    def test_default_token(self):
        values = mw_cppheavy.random_values(64)
        self.assertEqual(len(values), 64)
        self.assertTrue(all(0 <= v < 2**32 for v in values))
        self.assertGreater(len(set(values)), 1)

    def test_urandom_token(self):
        values = mw_cppheavy.random_values(16, "/dev/urandom")
        self.assertGreater(len(set(values)), 1)

    def test_bad_token_raises(self):
        with self.assertRaises(RuntimeError):
            mw_cppheavy.random_values(1, "no-such-token")


class TestExceptions(unittest.TestCase):
    def test_runtime_error_translated(self):
        for depth in (0, 1, 3, 50):
            with self.assertRaises(RuntimeError) as cm:
                mw_cppheavy.throw_runtime("boom %d" % depth, depth)
            self.assertEqual(str(cm.exception), "boom %d" % depth)

    def test_many_throws(self):
        for i in range(2000):
            with self.assertRaises(RuntimeError):
                mw_cppheavy.throw_runtime("x")

    def test_callback_results(self):
        self.assertEqual(mw_cppheavy.call_with_each(lambda x: x * 2, [1, 2, 3]), [2, 4, 6])
        self.assertEqual(mw_cppheavy.guards_alive(), 0)

    def test_callback_exception_unwinds_cpp_frames(self):
        class Stop(Exception):
            pass

        seen = []

        def callback(x):
            seen.append(x)
            if x == 3:
                raise Stop("stop at %d" % x)
            return x

        with self.assertRaises(Stop) as cm:
            mw_cppheavy.call_with_each(callback, [1, 2, 3, 4])
        self.assertEqual(str(cm.exception), "stop at 3")
        self.assertEqual(seen, [1, 2, 3])
        self.assertEqual(mw_cppheavy.guards_alive(), 0)

    def test_nested_module_exception_in_callback(self):
        def callback(x):
            mw_cppheavy.throw_runtime("inner %s" % x)

        with self.assertRaises(RuntimeError) as cm:
            mw_cppheavy.call_with_each(callback, ["a"])
        self.assertEqual(str(cm.exception), "inner a")
        self.assertEqual(mw_cppheavy.guards_alive(), 0)

    def test_exception_from_thread(self):
        with self.assertRaises(RuntimeError) as cm:
            mw_cppheavy.rethrow_from_thread("oops")
        self.assertEqual(str(cm.exception), "from thread: oops")


if __name__ == "__main__":
    unittest.main()
