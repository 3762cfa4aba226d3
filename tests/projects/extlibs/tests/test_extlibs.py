import importlib.util
import unittest

import mw_extlibs
from mw_extlibs import _core


class TestExtlibs(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_yaml(self):
        self.assertRegex(mw_extlibs.yaml_version(), r"^0\.\d+\.\d+$")

    def test_ffi_call_and_closure(self):
        self.assertEqual(mw_extlibs.call_strlen("hello"), 6)
        self.assertEqual(mw_extlibs.call_strlen(""), 1)

    def test_bundled_demo_library(self):
        if importlib.util.find_spec("mw_extlibs._demo") is None:
            self.skipTest("built without vendor/libmwdemo")
        from mw_extlibs import _demo
        self.assertEqual(_demo.triple(14), 42)


if __name__ == "__main__":
    unittest.main()
