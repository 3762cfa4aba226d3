"""Issue #13: external libraries with their whole closure, through the real wrapper and real links.

A fixture builds three real libraries, top -> mid -> leaf (each as a shared library and as a PIC
archive, with pkg-config files saying what each archive needs), and "use", whose dependency
"shonly" exists only as a shared library.  Modules are linked by the wrapper; the wheel layout
is made by ``bundle_libraries``; the results are loaded by the real dynamic loader.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel._wrapper import linklog
from manywheel.repair.bundle import ClosureRules, bundle_libraries, bundled_in
from manywheel.check.elf import read_elf_bytes
from manywheel.errors import WheelError
from manywheel.toolchain.wrappers import LibraryRules, make_toolchain
from manywheel.wheel import read_wheel
from tests.common import skip_missing

ALLOWED = frozenset({"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2"})
LIBS = {  # name: (source, the libraries it needs)
    "leaf": ("int leaf(int n) { return n + 1; }\n", []),
    "mid": ("int leaf(int); int mid(int n) { return leaf(n) * 10; }\n", ["leaf"]),
    "top": ("int mid(int); int top(int n) { return mid(n) + 7; }\n", ["mid"]),
    "shonly": ("int shonly(int n) { return n - 3; }\n", []),
    "use": ("int shonly(int); int use(int n) { return shonly(n) * 2; }\n", ["shonly"]),
    "pair": ("int shonly(int); int mid(int); int pair(int n) { return shonly(n) + mid(n); }\n", ["shonly", "mid"]),
}
NO_ARCHIVE = {"shonly"}


@dataclass(frozen=True)
class Libs:
    dir: Path
    pkgconfig: Path


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> Libs:
    if shutil.which("pkg-config") is None:
        skip_missing("pkg-config is not installed (Debian: pkg-config)")
    tmp = tmp_path_factory.mktemp("closure")
    libdir, pcdir = tmp / "lib", tmp / "pkgconfig"
    libdir.mkdir()
    pcdir.mkdir()
    for name, (source, deps) in LIBS.items():
        c = libdir / f"{name}.c"
        c.write_text(source)
        links = [f"-L{libdir}"] + [f"-l{d}" for d in deps]
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,lib{name}.so.1", "-o", str(libdir / f"lib{name}.so.1"),
                        str(c), *links], check=True)
        (libdir / f"lib{name}.so").symlink_to(f"lib{name}.so.1")
        if name not in NO_ARCHIVE:
            subprocess.run(["gcc", "-c", "-fPIC", "-o", str(libdir / f"{name}.o"), str(c)], check=True)
            subprocess.run(["ar", "rcs", str(libdir / f"lib{name}.a"), str(libdir / f"{name}.o")], check=True)
        (pcdir / f"{name}.pc").write_text(
            f"libdir={libdir}\nName: {name}\nDescription: test\nVersion: 1.0\nLibs: -L${{libdir}} -l{name}\n"
            + (f"Requires.private: {' '.join(deps)}\n" if deps else ""))
    return Libs(libdir, pcdir)


def link(tmp: Path, libs: Libs, modules: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch,
         static: tuple[str, ...] = (), bundle: tuple[str, ...] = (),
         ) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """Link each module (wheel path -> its -l arguments) through the wrapper; an inner wheel of them."""
    monkeypatch.setenv("PKG_CONFIG_PATH", str(libs.pkgconfig))
    chain = make_toolchain(tmp / "tc", Compilers.find(dict(os.environ)), None, project=tmp, verbose=False,
                           libraries=LibraryRules(frozenset({"c", "m"}), static=static, bundle=bundle))
    sources = {"top": tmp / "m_top.c", "use": tmp / "m_use.c", "pair": tmp / "m_pair.c"}
    for name, path in sources.items():
        path.write_text(f"int {name}(int);\nint via_{name}(int n) {{ return {name}(n); }}\n")
    inner = tmp / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    proc = subprocess.CompletedProcess([], 0, "", "")
    with zipfile.ZipFile(inner, "w") as zf:
        for member, args in modules.items():
            out = tmp / "build" / member
            out.parent.mkdir(parents=True, exist_ok=True)
            src = next((sources[n] for n in ("use", "pair") if f"-l{n}" in args), sources["top"])
            proc = subprocess.run([chain.env["CC"], "-shared", "-fPIC", str(src), f"-L{libs.dir}", *args, "-o", str(out)],
                                  env=dict(os.environ, **chain.env), capture_output=True, text=True)
            if proc.returncode != 0:
                return proc, chain.link_log, inner
            zf.writestr(member, out.read_bytes())
        zf.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
        zf.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n")
        zf.writestr("pkg-1.0.dist-info/RECORD", "")
    return proc, chain.link_log, inner


def unpack(tmp: Path, libs: Libs, link_log: Path, inner: Path) -> tuple[Path, dict[str, str]]:
    """The wheel with the closure bundled, unpacked into a site directory; added path -> needed_by."""
    rules = ClosureRules(allowed=ALLOWED, search_dirs=(str(libs.dir),), workdir=tmp / "closure")
    contents, added = bundle_libraries(read_wheel(inner), bundled_in(linklog.read(link_log)), (), rules)
    site = tmp / "site"
    for m in contents.members:
        path = site / m.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(m.data)
    return site, {p: lib.needed_by for p, lib in added.items()}


def call(module: Path, function: str, arg: int, hide: Path) -> int:
    """``function(arg)`` of ``module``, loaded by the real loader with the libraries' own directory hidden."""
    moved = hide.with_name(hide.name + "-hidden")
    hide.rename(moved)
    try:
        proc = subprocess.run([sys.executable, "-c", f"import ctypes; print(ctypes.CDLL({str(module)!r}).{function}({arg}))"],
                              capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"})
    finally:
        moved.rename(hide)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout)


def test_an_archive_is_linked_with_the_archives_it_needs(tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, log, inner = link(tmp_path, libs, {"pkg/_m.so": ["-ltop"]}, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert "linked libtop statically" in proc.stderr and "libmid.a, libleaf.a" in proc.stderr, proc.stderr
    entry = linklog.read(log)[-1]
    assert [Path(p).name for p in entry["static"]] == ["libtop.a", "libmid.a", "libleaf.a"]
    with zipfile.ZipFile(inner) as zf:
        facts = read_elf_bytes(zf.read("pkg/_m.so"), "_m.so")
    assert not [n for n in facts.needed if n.startswith(("libtop", "libmid", "libleaf"))], facts.needed
    site, added = unpack(tmp_path, libs, log, inner)
    assert added == {}
    assert call(site / "pkg/_m.so", "via_top", 2, libs.dir) == 37


def test_a_dependency_without_archive_bundles_the_library_with_its_closure(
        tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, log, inner = link(tmp_path, libs, {"pkg/_m.so": ["-luse"]}, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert "libuse is bundled, not linked statically: libuse.a needs libshonly" in proc.stderr, proc.stderr
    site, added = unpack(tmp_path, libs, log, inner)
    names = sorted(Path(p).name.split("-")[0] for p in added)
    assert names == ["libshonly", "libuse"], added
    use = next(site / p for p in added if "libuse" in p)
    facts = read_elf_bytes(use.read_bytes(), use.name)
    shonly = next(Path(p).name for p in added if "libshonly" in p)
    assert shonly in facts.needed and facts.runpath == ("$ORIGIN",) and facts.soname is None, facts
    assert call(site / "pkg/_m.so", "via_use", 10, libs.dir) == 14


def test_a_closure_three_levels_deep_is_bundled_and_loads(tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, log, inner = link(tmp_path, libs, {"pkg/_m.so": ["-ltop"]}, monkeypatch, bundle=("top",))
    assert proc.returncode == 0, proc.stderr
    site, added = unpack(tmp_path, libs, log, inner)
    by_name = {Path(p).name.split("-")[0]: (p, needed_by) for p, needed_by in added.items()}
    assert sorted(by_name) == ["libleaf", "libmid", "libtop"], added
    assert by_name["libtop"][1] == "" and by_name["libmid"][1].endswith("libtop.so.1")
    assert by_name["libleaf"][1].endswith("libmid.so.1")
    for lib, dep in (("libtop", "libmid"), ("libmid", "libleaf")):
        facts = read_elf_bytes((site / by_name[lib][0]).read_bytes(), lib)
        assert Path(by_name[dep][0]).name in facts.needed and f"{dep}.so.1" not in facts.needed, facts.needed
    assert call(site / "pkg/_m.so", "via_top", 2, libs.dir) == 37


def test_two_extensions_share_one_copy_of_each_library(tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, log, inner = link(tmp_path, libs, {"pkg/_a.so": ["-ltop"], "pkg/sub/_b.so": ["-ltop"]}, monkeypatch,
                            bundle=("top",))
    assert proc.returncode == 0, proc.stderr
    site, added = unpack(tmp_path, libs, log, inner)
    assert len(added) == 3, added
    assert sorted(p.name.split("-")[0] for p in (site / "pkg.libs").iterdir()) == ["libleaf", "libmid", "libtop"]
    assert call(site / "pkg/_a.so", "via_top", 1, libs.dir) == 27
    assert call(site / "pkg/sub/_b.so", "via_top", 3, libs.dir) == 47


def test_static_with_a_dependency_that_has_no_archive_names_the_missing_piece(
        tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, _log, _inner = link(tmp_path, libs, {"pkg/_m.so": ["-luse"]}, monkeypatch, static=("use",))
    assert proc.returncode != 0
    assert "static lists 'use', and libuse.a needs libshonly (use.pc --static), which has no archive" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_library_found_nowhere_is_one_message_with_the_search_path(
        tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, _log, _inner = link(tmp_path, libs, {"pkg/_m.so": ["-lnosuchlib"]}, monkeypatch)
    assert proc.returncode != 0
    assert "the link needs libnosuchlib, and neither libnosuchlib.so nor libnosuchlib_pic.a / libnosuchlib.a" in proc.stderr
    assert str(libs.dir) in proc.stderr and "Traceback" not in proc.stderr


def test_a_closure_library_found_nowhere_fails_the_wheel_naming_it(
        tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    proc, log, inner = link(tmp_path, libs, {"pkg/_m.so": ["-ltop"]}, monkeypatch, bundle=("top",))
    assert proc.returncode == 0, proc.stderr
    rules = ClosureRules(allowed=ALLOWED, search_dirs=(), workdir=tmp_path / "closure")
    hidden = libs.dir.with_name("lib-hidden")
    libs.dir.rename(hidden)
    try:
        with pytest.raises(WheelError, match=r"needs libmid\.so\.1, which is neither allowed by the policy nor found"):
            bundle_libraries(read_wheel(inner), bundled_in(linklog.read(log)), (), rules)
    finally:
        hidden.rename(libs.dir)


def test_a_library_a_bundled_one_needs_is_bundled_too_not_linked_statically(
        tmp_path: Path, libs: Libs, monkeypatch: pytest.MonkeyPatch) -> None:
    """libpair is bundled (libshonly has no archive) and needs libmid.so.1: the module's own -lmid
    must then use that copy, not libmid.a, or the process would hold two libmids."""
    proc, log, inner = link(tmp_path, libs, {"pkg/_m.so": ["-lpair", "-lmid"]}, monkeypatch)
    assert proc.returncode == 0, proc.stderr
    assert "libmid is bundled, not linked statically: the bundled libpair.so.1 needs libmid.so.1 too" in proc.stderr
    assert linklog.read(log)[-1]["static"] == []
    site, added = unpack(tmp_path, libs, log, inner)
    assert sorted(Path(p).name.split("-")[0] for p in added) == ["libleaf", "libmid", "libpair", "libshonly"], added
    assert call(site / "pkg/_m.so", "via_pair", 2, libs.dir) == 2 - 3 + 30
