import math
import os
import unittest

import mw_openmp
from mw_openmp import _csum, _cxxsum

# Set by the caller to the number of threads OpenMP must use (the runtime tests set 2).
WANTED = int(os.environ.get("MW_OPENMP_THREADS", "0"))


class TestOpenMP(unittest.TestCase):
    def test_are_extensions(self):
        for module in (_csum, _cxxsum):
            self.assertTrue(module.__file__.endswith(".so"), module.__file__)

    def test_c_reduction(self):
        n = 2_000_000
        self.assertEqual(mw_openmp.sum_squares(n), (n - 1) * n * (2 * n - 1) // 6)
        self.assertEqual(mw_openmp.sum_squares(0), 0)

    def test_cxx_reduction(self):
        n = 1_000_000
        self.assertAlmostEqual(mw_openmp.harmonic(n), math.fsum(1.0 / i for i in range(1, n + 1)), places=6)
        with self.assertRaises(ValueError):
            mw_openmp.harmonic(-1)

    def test_threads(self):
        self.assertGreaterEqual(mw_openmp.max_threads(), 1)
        if WANTED:
            self.assertEqual(mw_openmp.max_threads(), WANTED)
            self.assertEqual(mw_openmp.threads_used(), WANTED)
            self.assertEqual(mw_openmp.team_sizes(), [WANTED])


if __name__ == "__main__":
    unittest.main()
