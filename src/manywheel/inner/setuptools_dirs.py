"""setuptools' build and egg-info directories, moved out of the source tree for each build."""
from __future__ import annotations

import configparser
from pathlib import Path
from typing import Mapping


def setuptools_build_dirs(work: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Point setuptools' build and egg-info directories into this build's temporary directory.

    Every build then compiles afresh with this build's flags (a stale object from a build
    with another target can never slip in) and the source tree is left as it was.  The
    inner wheel is written uncompressed.  A user's own DIST_EXTRA_CONFIG is kept, with
    these settings added.
    """
    parser = configparser.ConfigParser()
    if environ.get("DIST_EXTRA_CONFIG"):
        parser.read(environ["DIST_EXTRA_CONFIG"])
    (work / "setuptools-build").mkdir(exist_ok=True)
    (work / "egg-info").mkdir(exist_ok=True)
    # The inner wheel is read once and written again with the tag: compressing it is wasted time.
    for section, key, value in (("build", "build_base", work / "setuptools-build"), ("egg_info", "egg_base", work / "egg-info"),
                                ("bdist_wheel", "compression", "stored")):
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, key, str(value))
    path = work / "setuptools-extra.cfg"
    with open(path, "w") as f:
        parser.write(f)
    return {"DIST_EXTRA_CONFIG": str(path)}
