from setuptools import Extension, setup

# libmwclib.a is the project's own library: build_clib writes it, an archive only, into the
# build's temporary directory, and build_ext links every module with it.  libmwnopic (from
# vendor/, which the tests make) is external: its archive was compiled without -fPIC, so it
# cannot go into a shared object and manywheel bundles its shared library instead.
setup(
    libraries=[("mwclib", {"sources": ["csrc/clib.c"]})],
    ext_modules=[Extension("mw_clib._core", sources=["csrc/core.c"], libraries=["mwnopic"],
                           library_dirs=["vendor"])],
)
