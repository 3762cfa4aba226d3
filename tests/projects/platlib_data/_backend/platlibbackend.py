"""setuptools.build_meta, with the wheel's extension modules moved under <name>.data/platlib/."""

import os
import zipfile

from setuptools.build_meta import *  # noqa: F401,F403 (every other hook as setuptools has it)
from setuptools.build_meta import build_wheel as _setuptools_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _setuptools_build_wheel(wheel_directory, config_settings, metadata_directory)
    path = os.path.join(wheel_directory, name)
    data_dir = "-".join(name.split("-")[:2]) + ".data/platlib/"
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]

    def moved(member):
        return data_dir + member if member.endswith(".so") and "/" in member and ".dist-info/" not in member else member

    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            if info.filename.endswith(".dist-info/RECORD"):
                data = "".join(moved(line.split(",", 1)[0]) + "," + line.split(",", 1)[1] + "\n"
                               for line in data.decode().splitlines() if line).encode()
            info.filename = moved(info.filename)
            zf.writestr(info, data)
    os.replace(path + ".tmp", path)
    return name
