from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mw_abi3._core",
            sources=["csrc/core.c"],
            py_limited_api=True,
            define_macros=[("Py_LIMITED_API", "0x03090000")],
            libraries=["m"],
        )
    ],
    # The wheel is tagged cp39-abi3: one wheel for CPython 3.9 and newer.
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
