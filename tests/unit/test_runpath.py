"""RUNPATHs in the wheel: ``$ORIGIN``-relative from where a member is installed.

Real shared objects made with gcc (a bundled library's copy, modules linked against it with the
link-time placeholder the wrapper reserves); the repaired members are installed as an installer
would place them and loaded by the real dynamic loader.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from manywheel._wrapper import elfedit, extlibs
from manywheel.check.elf import read_elf_bytes
from manywheel.check.scan import facts_of_members
from manywheel.check.verify import judge
from manywheel.arches import host_arch
from manywheel.policy import load_policies
from manywheel.repair.bundle import BundledLibrary, bundle_libraries
from manywheel.repair.runpath import origin_path
from manywheel.wheel import Member, WheelContents, install_path

STAMP = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Bundle:
    copy: Path  # the bundled copy (unique name, no DT_SONAME), as the wrapper makes it
    library: BundledLibrary


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    tmp = tmp_path_factory.mktemp("runpath")
    (tmp / "demo.c").write_text("int demo(int n) { return n + 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-o", str(tmp / "libdemo.so.1"),
                    str(tmp / "demo.c")], check=True)
    copy = Path(extlibs.bundle_copy(str(tmp / "libdemo.so.1"), str(tmp / "bundle")))
    return Bundle(copy, BundledLibrary(copy.name, copy, str(tmp / "libdemo.so.1")))


def module(tmp: Path, *link: str, name: str = "m.so") -> bytes:
    """A module calling demo() through the bundled copy, linked with ``link`` added."""
    (tmp / "m.c").write_text("int demo(int); int twice(int n) { return 2 * demo(n); }\n")
    out = tmp / name
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(tmp / "m.c"), *link], check=True)
    return out.read_bytes()


def wheel(members: dict[str, bytes]) -> WheelContents:
    meta = {"pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
            "pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-linux_x86_64\n"}
    return WheelContents("pkg-1.0-py3-none-linux_x86_64.whl",
                         tuple(Member(n, d, False, STAMP) for n, d in {**members, **meta}.items()), "pkg-1.0.dist-info")


def install(contents: WheelContents, site: Path) -> None:
    """Place each member where an installer puts it: ``<dist>.data/platlib/`` and ``purelib/`` into site."""
    for m in contents.members:
        path = site / install_path(m.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(m.data)


def call_twice(path: Path, arg: int) -> int:
    proc = subprocess.run([sys.executable, "-c", f"import ctypes; print(ctypes.CDLL({str(path)!r}).twice({arg}))"],
                          capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"})
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


@pytest.mark.parametrize(("member", "libs", "expected"), [
    ("pkg/_core.so", "pkg.libs", "$ORIGIN/../pkg.libs"), ("_top.so", "pkg.libs", "$ORIGIN/pkg.libs"),
    ("pkg/sub/x.so", "pkg.libs", "$ORIGIN/../../pkg.libs"),
    ("pkg-1.0.data/platlib/pkg/x.so", "pkg.libs", "$ORIGIN/../pkg.libs"),
    ("pkg-1.0.data/purelib/x.so", "pkg.libs", "$ORIGIN/pkg.libs"),
    ("pkg/x.so", "nvidia/cu13/lib", "$ORIGIN/../nvidia/cu13/lib"),
    ("pkg-1.0.data/platlib/pkg/x.so", "pkg-1.0.data/platlib/pkg/lib", "$ORIGIN/lib")])
def test_origin_path_is_relative_to_where_the_member_is_installed(member: str, libs: str, expected: str) -> None:
    assert origin_path(member, libs) == expected


def test_a_module_under_data_platlib_finds_its_bundled_library_once_installed(tmp_path: Path, bundle: Bundle) -> None:
    data = module(tmp_path, f"-L{bundle.copy.parent}", f"-l:{bundle.copy.name}", "-Wl,-rpath," + elfedit.PLACEHOLDER)
    repaired, added = bundle_libraries(wheel({"pkg-1.0.data/platlib/pkg/_core.so": data}),
                                       {bundle.library.name: bundle.library})
    assert list(added) == [f"pkg.libs/{bundle.copy.name}"]
    core = read_elf_bytes(repaired.member("pkg-1.0.data/platlib/pkg/_core.so").data, "_core.so")
    assert core.runpath == ("$ORIGIN/../pkg.libs",)
    verdict = judge(facts_of_members(repaired.members), load_policies(host_arch()), host_arch())
    assert not [c for c in verdict.constraints if c.unreachable], verdict.constraints
    site = tmp_path / "site"
    install(repaired, site)
    assert call_twice(site / "pkg" / "_core.so", 20) == 42

