"""Runs anywhere: checks the kernel on a GPU when there is one, else the no-device path."""
import unittest

import cudademo


class CudaDemo(unittest.TestCase):
    def test_runtime_is_cuda_13(self):
        self.assertEqual(cudademo.runtime_version() // 1000, 13)

    def test_saxpy(self):
        x = [float(i) for i in range(1000)]
        y = [1.0] * 1000
        expected = [2.0 * xi + 1.0 for xi in x]
        where, detail = cudademo.device()
        print(f"device: {where} ({detail})")
        self.assertEqual(cudademo.saxpy(2.0, x, y), expected)
        if where == "cuda":
            self.assertEqual(cudademo.saxpy_device(2.0, x, y), expected)
        else:
            self.assertTrue(detail, "no device, and no reason given")
            with self.assertRaises(RuntimeError):
                cudademo.saxpy_device(2.0, x, y)


if __name__ == "__main__":
    unittest.main()
