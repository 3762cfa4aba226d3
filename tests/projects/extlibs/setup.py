import os

from setuptools import Extension, setup

# libyaml and libffi are outside every manylinux allow-list: manywheel links them
# statically (Debian's libyaml.a, libffi_pic.a) or, with bundle = [...], bundles them.
extensions = [Extension("mw_extlibs._core", sources=["csrc/core.c"], libraries=["yaml", "ffi"])]
# The tests put a shared-only library (no archive) in vendor/ to exercise bundling of it.
if os.path.isdir("vendor"):
    extensions.append(Extension("mw_extlibs._demo", sources=["csrc/demo.c"], libraries=["mwdemo"],
                                library_dirs=["vendor"]))
setup(ext_modules=extensions)
