"""Builds vendor/libfoo into libfoo.a with build_ext's own compiler, then links it."""

import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

VENDOR_DIR = os.path.join("vendor", "libfoo")


class build_ext_with_libfoo(build_ext):
    """Compiles the vendored sources with self.compiler, so whatever flags the
    build backend puts on the compiler reach libfoo.a too."""

    def build_extensions(self):
        sources = sorted(glob.glob(os.path.join(VENDOR_DIR, "*.c")))
        objects = self.compiler.compile(
            sources,
            output_dir=os.path.join(self.build_temp, "libfoo-obj"),
            include_dirs=[VENDOR_DIR],
            debug=self.debug,
        )
        lib_dir = os.path.join(self.build_temp, "libfoo-lib")
        self.compiler.create_static_lib(objects, "foo", output_dir=lib_dir, debug=self.debug)
        for ext in self.extensions:
            ext.library_dirs.append(lib_dir)
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "mw_vendored._core",
            sources=["csrc/core.c"],
            include_dirs=[VENDOR_DIR],
            libraries=["foo"],
        )
    ],
    cmdclass={"build_ext": build_ext_with_libfoo},
)
