import math
import unittest

import mw_abi3
from mw_abi3 import _core


class TestAbi3(unittest.TestCase):
    def test_built_for_stable_abi(self):
        # setuptools names a py_limited_api extension *.abi3.so
        self.assertTrue(_core.__file__.endswith(".abi3.so"), _core.__file__)

    def test_dot(self):
        self.assertEqual(mw_abi3.dot([1, 2, 3], (4.0, 5.0, 6.0)), 32.0)
        self.assertEqual(mw_abi3.dot([], []), 0.0)
        with self.assertRaises(ValueError):
            mw_abi3.dot([1], [1, 2])
        with self.assertRaises(TypeError):
            mw_abi3.dot([1, "x"], [1, 2])

    def test_norm(self):
        self.assertAlmostEqual(mw_abi3.norm([3, 4]), 5.0)
        self.assertAlmostEqual(mw_abi3.norm([1.0] * 4), 2.0)
        self.assertTrue(math.isinf(mw_abi3.norm([float("inf"), 1.0])))

    def test_clamp(self):
        self.assertEqual(mw_abi3.clamp(5, 0, 1), 1.0)
        self.assertEqual(mw_abi3.clamp(-5, 0, 1), 0.0)
        self.assertEqual(mw_abi3.clamp(0.25, 0, 1), 0.25)
        with self.assertRaises(ValueError):
            mw_abi3.clamp(0, 1, 0)

    def test_count_byte(self):
        self.assertEqual(mw_abi3.count_byte("banana", "a"), 3)
        self.assertEqual(mw_abi3.count_byte("\u00e9t\u00e9", "t"), 1)
        with self.assertRaises(ValueError):
            mw_abi3.count_byte("abc", "ab")


if __name__ == "__main__":
    unittest.main()
