"""mw-intree: must run under the in-tree backend _backend/mybackend.py."""

import importlib.util
import os

from setuptools import Extension, setup

built_by = os.environ.get("MW_INTREE_BACKEND")
if built_by != "mybackend":
    raise SystemExit(
        "mw-intree: setup.py ran without the in-tree backend _backend/mybackend.py "
        "(MW_INTREE_BACKEND=%r); build it through [tool.manywheel] inner-backend" % built_by
    )
# "Cython>=3.0" is requested only by mybackend.get_requires_for_build_wheel.
extra_requires_seen = importlib.util.find_spec("Cython") is not None

setup(
    ext_modules=[
        Extension(
            "mw_intree._core",
            sources=["csrc/core.c"],
            define_macros=[
                ("MW_BUILT_BY", '"%s"' % built_by),
                ("MW_EXTRA_REQUIRES_SEEN", "1" if extra_requires_seen else "0"),
            ],
        )
    ]
)
