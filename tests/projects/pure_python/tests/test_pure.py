import unittest

import mw_pure


class TestPure(unittest.TestCase):
    def test_version(self):
        self.assertEqual(mw_pure.__version__, "0.1.0")

    def test_slugify(self):
        self.assertEqual(mw_pure.slugify("Hello, World! 2024"), "hello-world-2024")

    def test_count_words(self):
        self.assertEqual(mw_pure.count_words("a b A c"), {"a": 2, "b": 1, "c": 1})

    def test_package_data(self):
        self.assertEqual(mw_pure.load_words(), ["alpha", "beta", "gamma"])


if __name__ == "__main__":
    unittest.main()
