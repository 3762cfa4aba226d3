"""In-tree PEP 517 backend of mw-intree: setuptools.build_meta plus two duties.

1. Every hook sets MW_INTREE_BACKEND=mybackend in the environment (setup.py
   refuses to build without it and compiles it into the extension, so the
   installed module proves that this backend ran) and prints a marker line to
   stderr.
2. get_requires_for_build_wheel adds "Cython>=3.0" to setuptools' own list, the
   way frozenlist's in-tree backend does; setup.py records whether Cython was
   importable, so the installed module also proves that the wrapping backend
   forwarded this hook's answer to the frontend.
"""

import os
import sys

from setuptools import build_meta as _setuptools

MARKER_ENV = "MW_INTREE_BACKEND"
MARKER_VALUE = "mybackend"
MARKER_LINE = "mw-intree: in-tree backend mybackend ran"
EXTRA_REQUIRES = ["Cython>=3.0"]


def _mark(hook):
    os.environ[MARKER_ENV] = MARKER_VALUE
    print("%s: %s" % (MARKER_LINE, hook), file=sys.stderr, flush=True)


def get_requires_for_build_wheel(config_settings=None):
    _mark("get_requires_for_build_wheel")
    return _setuptools.get_requires_for_build_wheel(config_settings) + EXTRA_REQUIRES


def get_requires_for_build_sdist(config_settings=None):
    _mark("get_requires_for_build_sdist")
    return _setuptools.get_requires_for_build_sdist(config_settings)


def get_requires_for_build_editable(config_settings=None):
    _mark("get_requires_for_build_editable")
    return _setuptools.get_requires_for_build_editable(config_settings) + EXTRA_REQUIRES


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _mark("prepare_metadata_for_build_wheel")
    return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _mark("prepare_metadata_for_build_editable")
    return _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _mark("build_wheel")
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _mark("build_editable")
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    _mark("build_sdist")
    return _setuptools.build_sdist(sdist_directory, config_settings)
