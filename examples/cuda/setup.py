"""Compile the .cu file with nvcc, then the extension as usual.

nvcc is $CUDACXX (manywheel sets it to the nvcc the build requirements installed) or the one
on PATH; its host compiler is manywheel's wrapper (NVCC_CCBIN), so the host code is pinned
like the rest.  CUDADEMO_CUDART=static (the default) links the CUDA runtime into the module;
CUDADEMO_CUDART=shared needs libcudart.so.13 from the nvidia-cuda-runtime wheel at run time.
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CUDART = os.environ.get("CUDADEMO_CUDART", "static")
if CUDART not in ("static", "shared"):
    sys.exit(f"CUDADEMO_CUDART must be 'static' or 'shared', not {CUDART!r}")
# Kernels for Turing (sm_75) and Hopper (sm_90), and PTX for any newer GPU.
GENCODE = ["-gencode", "arch=compute_75,code=sm_75", "-gencode", "arch=compute_90,code=[sm_90,compute_90]"]


def find_nvcc():
    nvcc = os.environ.get("CUDACXX") or shutil.which("nvcc")
    if not nvcc:
        sys.exit("nvcc not found: add nvidia-cuda-nvcc to [build-system] requires, or set CUDACXX")
    return nvcc


class BuildCuda(build_ext):
    """Compile each .cu source with nvcc into an object the link takes."""

    def build_extension(self, ext):
        nvcc = find_nvcc()
        cuda_sources = [s for s in ext.sources if s.endswith(".cu")]
        ext.sources = [s for s in ext.sources if not s.endswith(".cu")]
        for source in cuda_sources:
            obj = Path(self.build_temp) / (Path(source).stem + ".o")
            obj.parent.mkdir(parents=True, exist_ok=True)
            cmd = [nvcc, "-c", source, "-o", str(obj), "-O2", "-std=c++17", "-Xcompiler", "-fPIC", *GENCODE]
            print("nvcc:", shlex.join(cmd), flush=True)
            subprocess.run(cmd, check=True)
            ext.extra_objects.append(str(obj))
        top = Path(os.path.realpath(nvcc)).parent.parent
        ext.library_dirs += [str(d) for d in (top / "lib", top / "lib64") if d.is_dir()]
        if CUDART == "static":
            ext.libraries += ["cudart_static", "rt", "pthread", "dl"]
        else:
            ext.libraries += ["cudart"]
        super().build_extension(ext)


setup(
    packages=["cudademo"],
    package_dir={"": "src"},
    ext_modules=[Extension("cudademo._core", ["csrc/_core.c", "csrc/kernel.cu"], language="c++")],
    cmdclass={"build_ext": BuildCuda},
    install_requires=["nvidia-cuda-runtime>=13,<14"] if CUDART == "shared" else [],
)
