from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mw_cppsimple._core",
            sources=["csrc/core.cpp"],
            language="c++",
            extra_compile_args=["-std=c++17"],
        )
    ]
)
