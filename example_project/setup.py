"""Extensions of mw-example; the metadata lives in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mw_example._cext",
            sources=["csrc/cext.c"],
            # -lm for exp/pow/log, -ldl for dlopen/dlsym, -lpthread for
            # pthread_create: glibc < 2.34 keeps them outside libc.so.6.
            libraries=["m", "dl", "pthread"],
            extra_compile_args=["-Wall", "-Wextra"],
        ),
        Extension(
            "mw_example._cppext",
            sources=["csrc/cppext.cpp"],
            language="c++",
            libraries=["pthread"],
            extra_compile_args=["-std=c++17", "-Wall", "-Wextra"],
        ),
    ],
)
