from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [Extension("mw_cython._fast", sources=["csrc/_fast.pyx"], libraries=["m"])]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False},
        # keep the generated C out of the source tree
        build_dir="build/cython",
    )
)
