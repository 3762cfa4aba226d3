from pybind11.setup_helpers import Pybind11Extension
from setuptools import setup

setup(ext_modules=[Pybind11Extension("mw_pybind._core", ["csrc/core.cpp"], cxx_std=17)])
