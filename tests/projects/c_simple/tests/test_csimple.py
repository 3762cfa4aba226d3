import unittest

import mw_csimple
from mw_csimple import _core


class TestCSimple(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_add(self):
        self.assertEqual(mw_csimple.add(2, 3), 5)
        self.assertEqual(mw_csimple.add(-2**40, 1), -2**40 + 1)
        with self.assertRaises(TypeError):
            mw_csimple.add("a", 1)

    def test_fib(self):
        self.assertEqual([mw_csimple.fib(i) for i in range(10)], [0, 1, 1, 2, 3, 5, 8, 13, 21, 34])
        self.assertEqual(mw_csimple.fib(93), 12200160415121876738)
        with self.assertRaises(ValueError):
            mw_csimple.fib(-1)

    def test_sum_list(self):
        self.assertEqual(mw_csimple.sum_list([1.5, 2.5, 3]), 7.0)
        self.assertEqual(mw_csimple.sum_list(()), 0.0)
        with self.assertRaises(TypeError):
            mw_csimple.sum_list([1, "x"])

    def test_greet(self):
        self.assertEqual(mw_csimple.greet("world"), "Hello, world!")
        with self.assertRaises(ValueError):
            mw_csimple.greet("x" * 500)


if __name__ == "__main__":
    unittest.main()
