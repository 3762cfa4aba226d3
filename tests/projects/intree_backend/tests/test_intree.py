import unittest
import zlib

import mw_intree
from mw_intree import _core


class TestInTreeBackend(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_built_by_in_tree_backend(self):
        # setup.py compiles MW_INTREE_BACKEND (set only by _backend/mybackend.py) in.
        self.assertEqual(mw_intree.BUILT_BY, "mybackend")

    def test_in_tree_backend_requires_were_installed(self):
        # "Cython>=3.0" comes only from mybackend.get_requires_for_build_wheel.
        self.assertIs(mw_intree.EXTRA_REQUIRES_SEEN, True)

    def test_checksum(self):
        for data in (b"", b"a", b"hello world", bytes(range(256)) * 100):
            self.assertEqual(mw_intree.checksum(data), zlib.adler32(data))


if __name__ == "__main__":
    unittest.main()
