from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mw_cppheavy._core",
            sources=["csrc/core.cpp"],
            language="c++",
            extra_compile_args=["-std=c++17", "-pthread"],
            extra_link_args=["-pthread"],
        )
    ]
)
