import errno
import os
import tempfile
import unittest

import mw_noshim
from mw_noshim import _core

# copy_file_range can be refused by the kernel or file system (old kernels,
# some overlay/network file systems); that is not a fault of the module.
UNSUPPORTED = {errno.ENOSYS, errno.EXDEV, errno.EOPNOTSUPP, errno.EINVAL}


class TestNoShim(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def _copy(self, src, dst):
        try:
            return mw_noshim.copy_file(src, dst)
        except OSError as e:
            if e.errno in UNSUPPORTED:
                self.skipTest("copy_file_range refused here: %s" % e)
            raise

    def test_copy_file(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
            with open(src, "wb") as f:
                f.write(data)
            self.assertEqual(self._copy(src, dst), len(data))
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), data)
            # dst is truncated on the second copy
            with open(src, "wb") as f:
                f.write(b"short")
            self.assertEqual(self._copy(src, dst), 5)
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), b"short")

    def test_empty_file(self):
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
            open(src, "wb").close()
            self.assertEqual(self._copy(src, dst), 0)
            self.assertEqual(os.path.getsize(dst), 0)

    def test_missing_source(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "missing")
            with self.assertRaises(FileNotFoundError) as cm:
                mw_noshim.copy_file(missing, os.path.join(d, "dst"))
            self.assertEqual(cm.exception.filename, missing)


if __name__ == "__main__":
    unittest.main()
