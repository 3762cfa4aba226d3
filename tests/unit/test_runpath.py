"""RUNPATHs in the wheel: ``$ORIGIN``-relative from where a member is installed, and no host paths.

Real shared objects made with gcc (a bundled library's copy, modules linked against it with the
link-time placeholder the wrapper reserves, and host RPATHs such as CMake's build tree or pyenv's
lib directory); the repaired members are installed as an installer would place them and loaded by
the real dynamic loader.
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
from manywheel.repair.runpath import origin_path, strip_host_runpaths
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


HOST = "/root/.pyenv/versions/3.11.7/lib"  # pyenv's interpreters add it to links; CMake adds its build tree


@pytest.mark.parametrize(("link", "expected"), [
    ([f"-Wl,-rpath,{HOST}", "-Wl,-rpath,$ORIGIN/lib"], ("$ORIGIN/lib",)),
    ([f"-Wl,-rpath,{HOST}:$ORIGIN/lib:/tmp/build::::"], ("$ORIGIN/lib",)),  # CMake pads with ':'
    ([f"-Wl,-rpath,{HOST}"], ()),
    ([f"-Wl,-rpath,{HOST}", "-Wl,-rpath,${ORIGIN}/lib", "-Wl,--disable-new-dtags"], ("${ORIGIN}/lib",)),
    (["-Wl,-rpath,$ORIGIN/lib"], ("$ORIGIN/lib",))])
def test_the_build_hosts_rpath_entries_are_taken_out_in_place(tmp_path: Path, link: list[str],
                                                               expected: tuple[str, ...]) -> None:
    data = module(tmp_path, *link)
    logged: list[str] = []
    contents = wheel({"pkg/m.so": data})
    stripped = strip_host_runpaths(contents, logged.append)
    out = stripped.member("pkg/m.so").data
    facts = read_elf_bytes(out, "m.so")
    assert facts.runpath + facts.rpath == expected
    assert len(out) == len(data) and HOST.encode() not in out and b"/tmp/build" not in out
    if all(a.startswith("-Wl,-rpath,$ORIGIN") for a in link):
        assert stripped is contents and not logged
    else:
        assert logged == [f"pkg/m.so: removed the build host's entries from its RUNPATH: {HOST}"
                          + (", /tmp/build, an empty one (the working directory)" if "/tmp/build" in link[0] else "")]


def test_a_host_rpath_beside_the_placeholder_goes_and_the_placeholder_is_filled(tmp_path: Path, bundle: Bundle) -> None:
    data = module(tmp_path, f"-L{bundle.copy.parent}", f"-l:{bundle.copy.name}", f"-Wl,-rpath,{HOST}",
                  "-Wl,-rpath," + elfedit.PLACEHOLDER)
    stripped = strip_host_runpaths(wheel({"pkg/_core.so": data}), lambda _: None)
    repaired, _ = bundle_libraries(stripped, {bundle.library.name: bundle.library})
    core = repaired.member("pkg/_core.so").data
    assert read_elf_bytes(core, "_core.so").runpath == ("$ORIGIN/../pkg.libs",)
    site = tmp_path / "site"
    install(repaired, site)
    assert call_twice(site / "pkg" / "_core.so", 1) == 4


def test_files_that_are_not_elf_or_cannot_be_edited_stay_as_they_are(tmp_path: Path) -> None:
    data = module(tmp_path, f"-Wl,-rpath,{HOST}")
    contents = wheel({"pkg/truncated.so": data[:64], "pkg/data.bin": b"\x7fELF" + bytes(8), "pkg/x.py": b"x = 1\n"})
    assert strip_host_runpaths(contents, lambda _: None) is contents
