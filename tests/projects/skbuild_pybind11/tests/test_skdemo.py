import threading
import unittest

import skdemo
from skdemo import _core


def sum_squares(n):
    return sum(i * i for i in range(n))


class TestSkdemo(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_cplusplus_17(self):
        self.assertGreaterEqual(skdemo.cplusplus, 201703)

    def test_threads(self):
        for threads in (1, 2, 7):
            self.assertEqual(skdemo.parallel_sum_squares(10000, threads), sum_squares(10000))
        self.assertGreaterEqual(skdemo.hardware_threads(), 0)

    def test_threads_from_python_threads(self):
        # The GIL is released around the C++ threads: Python threads call in at once.
        results = []
        workers = [threading.Thread(target=lambda: results.append(skdemo.parallel_sum_squares(50000, 3)))
                   for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.assertEqual(results, [sum_squares(50000)] * 4)

    def test_invalid_argument_becomes_value_error(self):
        self.assertEqual(skdemo.parse_count("42"), 42)
        with self.assertRaises(ValueError) as caught:
            skdemo.parse_count("4x2")
        self.assertIn("not a count: '4x2'", str(caught.exception))
        with self.assertRaises(ValueError):
            skdemo.parallel_sum_squares(10, 0)

    def test_own_exception_class(self):
        self.assertEqual(skdemo.checked_total(4, 100), 14)
        with self.assertRaises(skdemo.QuotaExceeded) as caught:
            skdemo.checked_total(1000, 10)
        self.assertIsInstance(caught.exception, RuntimeError)
        self.assertIn("exceeds quota 10", str(caught.exception))

    def test_optional(self):
        self.assertEqual(skdemo.first_word("  hello world"), "hello")
        self.assertIsNone(skdemo.first_word("   "))

    def test_flag_is_a_bool(self):
        self.assertIsInstance(skdemo.flag, bool)


if __name__ == "__main__":
    unittest.main()
