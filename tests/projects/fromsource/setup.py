"""A module linking libmwtiny, found the usual way: pkg-config (or mwtiny-config) on PATH."""
import shlex
import shutil
import subprocess

from setuptools import Extension, setup

if shutil.which("mwtiny-config"):
    flags = shlex.split(subprocess.check_output(["mwtiny-config", "--cflags", "--libs"], text=True))
else:
    flags = shlex.split(subprocess.check_output(["pkg-config", "--cflags", "--libs", "mwtiny"], text=True))
setup(
    packages=["mw_fromsource"],
    ext_modules=[Extension("mw_fromsource._core", ["src/core.c"],
                           include_dirs=[f[2:] for f in flags if f.startswith("-I")],
                           library_dirs=[f[2:] for f in flags if f.startswith("-L")],
                           libraries=[f[2:] for f in flags if f.startswith("-l")])],
)
