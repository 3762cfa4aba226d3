from setuptools import Extension, setup

# -fopenmp at compile time (the pragmas) and at link time (gcc then adds the runtime, libgomp).
OPENMP = {"extra_compile_args": ["-fopenmp"], "extra_link_args": ["-fopenmp"]}
setup(ext_modules=[
    Extension("mw_openmp._csum", sources=["csrc/csum.c"], **OPENMP),
    Extension("mw_openmp._cxxsum", sources=["csrc/cxxsum.cpp"], language="c++", **OPENMP),
])
