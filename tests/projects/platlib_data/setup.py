from setuptools import Extension, setup

# libmwvendor (vendor/, which the tests make: a shared library only) is outside every
# allow-list: manywheel bundles it into mwdata.libs/.
setup(ext_modules=[Extension("mwdata._vendored", sources=["csrc/vendored.c"], libraries=["mwvendor"],
                             library_dirs=["vendor"])])
