from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mw_abi3_wrong._core",
            sources=["csrc/core.c", "csrc/text.c"],
            py_limited_api=True,
            # Deliberately no Py_LIMITED_API: the headers then allow calls outside the Stable ABI,
            # and the wheel is still tagged cp39-abi3, a claim manywheel must refuse.
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
