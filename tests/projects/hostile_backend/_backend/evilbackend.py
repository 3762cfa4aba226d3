"""An inner backend that hands manywheel a hostile wheel; MW_HOSTILE picks how:
abs (an absolute member path), dotdot (a '..' component), dup (a name twice), symlink."""
import os
import stat
import warnings
import zipfile

NAME = "mw_hostile-0.1.0"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("this test backend only builds wheels")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    kind = os.environ.get("MW_HOSTILE", "dotdot")
    filename = f"{NAME}-cp311-cp311-linux_x86_64.whl"
    members = {
        "mw_hostile/__init__.py": b"",
        f"{NAME}.dist-info/METADATA": b"Metadata-Version: 2.1\nName: mw-hostile\nVersion: 0.1.0\n",
        f"{NAME}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: evil\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name written on purpose
        with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            if kind == "abs":
                zf.writestr("/tmp/mw-hostile-absolute.txt", b"escaped")
            elif kind == "dotdot":
                zf.writestr("mw_hostile/../../mw-hostile-escape.txt", b"escaped")
            elif kind == "dup":
                zf.writestr("mw_hostile/__init__.py", b"print('second copy')")
            elif kind == "symlink":
                info = zipfile.ZipInfo("mw_hostile/link")
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, "/etc/passwd")
            zf.writestr(f"{NAME}.dist-info/RECORD", b"")
    return filename
