import os
import tempfile
import unittest

import mesonmixed
from mesonmixed import _cmod, _cppmod


class TestC(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_cmod.__file__.endswith(".so"), _cmod.__file__)

    def test_libm(self):
        self.assertEqual(mesonmixed.power(2.0, 10.0), 1024.0)

    def test_stat(self):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(b"12345")
        try:
            self.assertEqual(mesonmixed.file_size(f.name), 5)
        finally:
            os.unlink(f.name)
        with self.assertRaises(FileNotFoundError):
            mesonmixed.file_size("/nonexistent/mesonmixed")

    def test_greeting_is_a_string(self):
        self.assertIsInstance(mesonmixed.greeting(), str)


class TestCpp(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_cppmod.__file__.endswith(".so"), _cppmod.__file__)

    def test_threads(self):
        for threads in (1, 3, 8):
            self.assertEqual(mesonmixed.sum_range(100000, threads), sum(range(100000)))

    def test_exceptions_become_python_exceptions(self):
        with self.assertRaises(ValueError) as caught:
            mesonmixed.sum_range(10, 0)
        self.assertIn("threads must be at least 1, got 0", str(caught.exception))
        with self.assertRaises(ValueError):
            mesonmixed.parse_int("abc")
        with self.assertRaises(OverflowError):
            mesonmixed.parse_int("99999999999999999999999")

    def test_optional(self):
        self.assertEqual(mesonmixed.parse_int("-42"), -42)
        self.assertIsNone(mesonmixed.parse_int("42abc"))


if __name__ == "__main__":
    unittest.main()
