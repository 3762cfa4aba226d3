"""A project crafted to defeat ABI pinning; MW_DEFEAT picks the trick:

symver       a hand-written .symver binding getrandom to GLIBC_2.25
asm          inline assembly that jumps to close_range (GLIBC_2.34) through the PLT
prebuilt     an object compiled by the host gcc directly (no manywheel flags), linked in
prebuilt_so  a shared library compiled by the host gcc against the host glibc, shipped as data
weak         weak references to functions newer than the target
"""
import os
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

TRICK = os.environ.get("MW_DEFEAT", "")
if TRICK not in ("symver", "asm", "prebuilt", "prebuilt_so", "weak"):
    sys.exit(f"set MW_DEFEAT to symver, asm, prebuilt, prebuilt_so or weak (got {TRICK!r})")
HOST_GCC = "/usr/bin/gcc"  # by absolute path, around manywheel's wrappers


class BuildExt(build_ext):
    def run(self):
        os.makedirs(self.build_temp, exist_ok=True)
        if TRICK == "prebuilt":
            obj = os.path.join(self.build_temp, "prebuilt.o")
            subprocess.check_call([HOST_GCC, "-O2", "-fPIC", "-D_FILE_OFFSET_BITS=64", "-c", "src/prebuilt.c", "-o", obj])
            self.extensions[0].extra_objects.append(obj)
        if TRICK == "prebuilt_so":
            out = os.path.join(self.build_lib, "mw_defeat", "libprebuilt.so")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.check_call([HOST_GCC, "-shared", "-fPIC", "-pthread", "src/prebuilt.c", "-o", out])
        super().run()


setup(
    packages=["mw_defeat"],
    ext_modules=[Extension("mw_defeat._core", [f"src/{TRICK if TRICK != 'prebuilt' else 'uses_prebuilt'}.c"])],
    cmdclass={"build_ext": BuildExt},
)
