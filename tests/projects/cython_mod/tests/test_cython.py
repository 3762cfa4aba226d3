import math
import unittest

import mw_cython
from mw_cython import _fast


class TestCython(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_fast.__file__.endswith(".so"), _fast.__file__)

    def test_logsumexp(self):
        values = [1.0, 2.0, 3.0]
        expected = math.log(sum(math.exp(v) for v in values))
        self.assertAlmostEqual(mw_cython.logsumexp(values), expected, places=12)
        # stable where the naive formula overflows
        self.assertAlmostEqual(mw_cython.logsumexp([1000.0, 1000.0]), 1000.0 + math.log(2))
        self.assertEqual(mw_cython.logsumexp([float("-inf")]), float("-inf"))
        with self.assertRaises(ValueError):
            mw_cython.logsumexp([])

    def test_rms(self):
        self.assertAlmostEqual(mw_cython.rms([3, 4]), math.sqrt(12.5))
        with self.assertRaises(ValueError):
            mw_cython.rms([])

    def test_integrate_sin(self):
        self.assertAlmostEqual(mw_cython.integrate_sin(0.0, math.pi), 2.0, places=9)
        self.assertAlmostEqual(mw_cython.integrate_sin(0.0, 1.0, 100), 1 - math.cos(1.0), places=9)
        with self.assertRaises(ValueError):
            mw_cython.integrate_sin(0.0, 1.0, 3)

    def test_scaled_pow(self):
        self.assertAlmostEqual(mw_cython.scaled_pow(-2.0, 3.0, 0.5), 4.0)
        self.assertAlmostEqual(mw_cython.scaled_pow(9.0, 0.5), 3.0)


if __name__ == "__main__":
    unittest.main()
