from setuptools import Extension, setup

setup(ext_modules=[Extension("mw_noshim._core", sources=["csrc/core.c"])])
