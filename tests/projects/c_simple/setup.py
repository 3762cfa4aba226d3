from setuptools import Extension, setup

setup(ext_modules=[Extension("mw_csimple._core", sources=["csrc/core.c"])])
