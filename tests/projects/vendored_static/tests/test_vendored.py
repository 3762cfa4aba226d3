import os
import tempfile
import unittest

import mw_vendored
from mw_vendored import _core


def fnv1a_py(data):
    h = 14695981039346656037
    for b in data:
        h ^= b
        h = (h * 1099511628211) % 2**64
    return h


class TestVendored(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_file_size(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "data.bin")
            with open(path, "wb") as f:
                f.write(b"\0" * 4321)
            self.assertEqual(mw_vendored.file_size(path), 4321)
            with self.assertRaises(FileNotFoundError):
                mw_vendored.file_size(os.path.join(d, "missing"))

    def test_random_bytes(self):
        a, b = mw_vendored.random_bytes(32), mw_vendored.random_bytes(32)
        self.assertEqual((len(a), len(b)), (32, 32))
        self.assertNotEqual(a, b)
        self.assertEqual(mw_vendored.random_bytes(0), b"")
        with self.assertRaises(ValueError):
            mw_vendored.random_bytes(-1)

    def test_fnv1a(self):
        for data in (b"", b"a", b"foobar", bytes(range(256))):
            self.assertEqual(mw_vendored.fnv1a(data), fnv1a_py(data))
        self.assertEqual(mw_vendored.fnv1a(b"a"), 0xAF63DC4C8601EC8C)


if __name__ == "__main__":
    unittest.main()
