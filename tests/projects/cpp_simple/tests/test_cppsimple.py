import math
import unittest

import mw_cppsimple
from mw_cppsimple import _core


class TestCppSimple(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_greet(self):
        self.assertEqual(mw_cppsimple.greet("C++"), "Hello, C++!")

    def test_checked_sqrt(self):
        self.assertEqual(mw_cppsimple.checked_sqrt(16.0), 4.0)
        self.assertAlmostEqual(mw_cppsimple.checked_sqrt(2), math.sqrt(2))

    def test_exception_becomes_value_error(self):
        for _ in range(100):
            with self.assertRaises(ValueError) as cm:
                mw_cppsimple.checked_sqrt(-1.0)
            self.assertIn("negative argument", str(cm.exception))

    def test_repeat(self):
        self.assertEqual(mw_cppsimple.repeat("ab", 3), "ababab")
        self.assertEqual(mw_cppsimple.repeat("ab", 0), "")
        with self.assertRaises(ValueError):
            mw_cppsimple.repeat("ab", -1)
        with self.assertRaises(OverflowError):
            mw_cppsimple.repeat("ab", 10**9)

    def test_upper(self):
        self.assertEqual(mw_cppsimple.upper("hello, World 1"), "HELLO, WORLD 1")


if __name__ == "__main__":
    unittest.main()
