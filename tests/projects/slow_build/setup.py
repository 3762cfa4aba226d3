"""A build that is slow on purpose, to interrupt it: MW_SLOW=compile sleeps while
"compiling"; MW_SLOW=write puts 300 MB of incompressible data in the wheel, so writing
the wheel takes seconds. Each phase prints a marker line on stderr."""
import os
import sys
import time

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

MODE = os.environ.get("MW_SLOW", "compile")


class SlowBuildExt(build_ext):
    def run(self):
        if MODE == "compile":
            print("MW-SLOW: compiling", file=sys.stderr, flush=True)
            time.sleep(60)
        super().run()


class BigBuildPy(build_py):
    def run(self):
        super().run()
        if MODE == "write":
            with open(os.path.join(self.build_lib, "mw_slow", "big.bin"), "wb") as f:
                for _ in range(300):
                    f.write(os.urandom(1 << 20))


setup(
    packages=["mw_slow"],
    ext_modules=[Extension("mw_slow._core", ["mw_slow/core.c"])],
    cmdclass={"build_ext": SlowBuildExt, "build_py": BigBuildPy},
)
