import unittest

import mw_pybind
from mw_pybind import _core


class TestPybind(unittest.TestCase):
    def test_is_extension(self):
        self.assertTrue(_core.__file__.endswith(".so"), _core.__file__)

    def test_optional(self):
        self.assertEqual(mw_pybind.find_index(["a", "b", "c"], "c"), 2)
        self.assertIsNone(mw_pybind.find_index(["a"], "z"))

    def test_variant(self):
        self.assertEqual(mw_pybind.describe(3), "int:3")
        self.assertEqual(mw_pybind.describe(2.5), "float:2.5")
        self.assertEqual(mw_pybind.describe("x"), "str:x")
        self.assertEqual(mw_pybind.describe([1, 2, 3]), "list[3]")
        with self.assertRaises(TypeError):
            mw_pybind.describe(object())

    def test_structured_bindings(self):
        self.assertEqual(mw_pybind.min_max([3.0, -1.0, 7.5]), (-1.0, 7.5))
        with self.assertRaises(ValueError):  # std::invalid_argument via pybind11
            mw_pybind.min_max([])

    def test_custom_exception_translation(self):
        self.assertEqual(mw_pybind.safe_div(1.0, 4.0), 0.25)
        with self.assertRaises(ZeroDivisionError):
            mw_pybind.safe_div(1.0, 0.0)

    def test_map(self):
        self.assertEqual(mw_pybind.word_lengths("aa b ccc aa"), {"aa": 2, "b": 1, "ccc": 3})

    def test_class(self):
        acc = mw_pybind.Accumulator()
        self.assertIsNone(acc.mean)
        for x in (1.0, 2.0, 6.0):
            acc.add(x)
        self.assertEqual(acc.count, 3)
        self.assertEqual(acc.mean, 3.0)


if __name__ == "__main__":
    unittest.main()
