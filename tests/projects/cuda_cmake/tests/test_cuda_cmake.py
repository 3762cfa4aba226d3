import unittest

import _cuda_cmake


class CudaCmake(unittest.TestCase):
    def test_static_runtime_loads_without_a_device(self):
        self.assertEqual(_cuda_cmake.runtime() // 1000, 13)
        self.assertIn(_cuda_cmake.devices(), (-1,) + tuple(range(1, 65)))


if __name__ == "__main__":
    unittest.main()
