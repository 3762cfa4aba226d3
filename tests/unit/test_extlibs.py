"""External libraries at link time: which are external, static or bundled, and the bundled copy."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel._wrapper import elfedit, extlibs, linklog
from manywheel.repair.runpath import origin_path
from manywheel.check.elf import read_elf_file
from manywheel.arches import host_arch
from manywheel.policy import excludes, library_name
from manywheel.toolchain.wrappers import LibraryRules, make_toolchain
from tests.common import skip_missing, wrapper_config

if TYPE_CHECKING:
    from manywheel._wrapper.config import WrapperConfig


def config(tmp_path: Path, search: list[Path], provided: dict[str, str] | None = None,
           **lists: list[str]) -> WrapperConfig:
    return wrapper_config(tmp_path / "state", {
        "allowed": ["c", "m", "pthread", "dl", "z"], "static": lists.get("static", []),
        "bundle": lists.get("bundle", []), "exclude": lists.get("exclude", []), "provided": provided or {},
        "bundle_enabled": True, "search_dirs": [str(d) for d in search], "openmp": None,
        "from_source": {}})


@pytest.fixture()
def libdir(tmp_path: Path) -> Path:
    """libdemo.so.1 (shared only) and libboth (shared and a PIC archive), made with the real gcc."""
    d = tmp_path / "lib"
    d.mkdir()
    src = d / "demo.c"
    src.write_text("int demo(int n) { return n + 1; }\n")
    for name in ("demo", "both"):
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,lib{name}.so.1", "-o", str(d / f"lib{name}.so.1"), str(src)],
                       check=True)
        (d / f"lib{name}.so").symlink_to(f"lib{name}.so.1")
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(d / "demo.o"), str(src)], check=True)
    subprocess.run(["ar", "rcs", str(d / "libboth_pic.a"), str(d / "demo.o")], check=True)
    return d


@pytest.mark.parametrize(("entry", "name"), [
    ("ffi", "ffi"), ("libffi", "ffi"), ("-lffi", "ffi"), ("libffi.so.8", "ffi"), ("libyaml-0.so.2", "yaml-0"),
    ("libfoo.so", "foo"), ("yaml.a", "yaml"), ("glib-2.0", "glib-2.0")])
def test_library_names_normalize_to_what_dash_l_takes(entry: str, name: str) -> None:
    assert library_name(entry) == name


def test_allowed_and_compiler_runtime_libraries_are_not_external(tmp_path: Path) -> None:
    libs = config(tmp_path, [])["libs"]
    assert libs is not None
    assert [n for n in ("c", "m", "z", "stdc++", "gcc_s", "python3.11", "ffi", "ssl") if extlibs.is_external(n, libs)] == \
        ["ffi", "ssl"]


def test_an_archive_is_preferred_and_a_shared_only_library_is_bundled(tmp_path: Path, libdir: Path) -> None:
    cfg = config(tmp_path, [libdir])
    link = extlibs.rewrite_link(["-shared", "m.o", "-lboth", "-ldemo", "-lm", "-o", "m.so"], cfg, prefer_static=True)
    assert link.args[2] == str(libdir / "libboth_pic.a") and link.chosen_static
    assert [b["source"] for b in link.bundled] == [str(libdir / "libdemo.so.1")]
    assert link.static == [str(libdir / "libboth_pic.a")]
    unique = link.bundled[0]["name"]
    assert unique.startswith("libdemo-") and unique.endswith(".so.1") and len(unique) == len("libdemo-12345678.so.1")
    assert link.args[3] == f"-l:{unique}" and "-lm" in link.args
    assert link.args[-2:] == ["-L" + str(tmp_path / "state" / "bundle"), "-Wl,-rpath," + elfedit.PLACEHOLDER]
    assert any("linked libboth statically" in n for n in link.notes) and any("bundling" in n for n in link.notes)
    # The retry after a failed static link bundles both.
    link = extlibs.rewrite_link(["-shared", "m.o", "-lboth", "-o", "m.so"], cfg, prefer_static=False)
    assert not link.chosen_static and link.bundled[0]["name"].startswith("libboth-")


def test_the_lists_override_the_default(tmp_path: Path, libdir: Path) -> None:
    cfg = config(tmp_path, [libdir], bundle=["both"], exclude=["demo"])
    link = extlibs.rewrite_link(["-shared", "-lboth", "-ldemo", "-o", "m.so"], cfg, True)
    assert not link.chosen_static and [b["name"].split("-")[0] for b in link.bundled] == ["libboth"]
    assert "-ldemo" in link.args
    with pytest.raises(extlibs.LinkError, match=r"static lists 'demo', but neither libdemo_pic.a nor libdemo.a"):
        extlibs.rewrite_link(["-shared", "-ldemo"], config(tmp_path, [libdir], static=["demo"]), True)


def test_a_library_given_by_path_and_dash_l_dirs_are_searched(tmp_path: Path, libdir: Path) -> None:
    cfg = config(tmp_path, [])
    link = extlibs.rewrite_link(["-shared", str(libdir / "libdemo.so"), "-o", "m.so"], cfg, True)
    assert link.bundled and link.args[1] == "-l:" + link.bundled[0]["name"]
    link = extlibs.rewrite_link(["-shared", "-L", str(libdir), "-lboth"], cfg, True)
    assert link.chosen_static and str(libdir / "libboth_pic.a") in link.args


def test_the_bundled_copy_has_no_soname_and_links_by_its_unique_name(tmp_path: Path, libdir: Path) -> None:
    copy = Path(extlibs.bundle_copy(str(libdir / "libdemo.so"), str(tmp_path / "b")))
    assert read_elf_file(libdir / "libdemo.so.1").soname == "libdemo.so.1"
    facts = read_elf_file(copy)
    assert facts.soname is None and copy.stat().st_size == (libdir / "libdemo.so.1").stat().st_size
    main = tmp_path / "m.c"
    main.write_text("int demo(int); int f(void) { return demo(1); }\n")
    out = tmp_path / "m.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(main), f"-L{copy.parent}", f"-l:{copy.name}"], check=True)
    assert copy.name in read_elf_file(out).needed


@pytest.mark.parametrize(("member", "expected"), [
    ("pkg/_core.so", "$ORIGIN/../pkg.libs"), ("_top.so", "$ORIGIN/pkg.libs"), ("pkg/sub/x.so", "$ORIGIN/../../pkg.libs")])
def test_runpath_points_from_the_module_to_the_libs_directory(member: str, expected: str) -> None:
    assert origin_path(member, "pkg.libs") == expected


@pytest.mark.parametrize(("names", "soname", "expected"), [
    (["cuda"], "libcuda.so.1", True), (["yaml"], "libyaml-0.so.2", True), (["libffi.so.8"], "libffi.so.8", True),
    (["-lffi"], "libffi.so.8", True), (["ffi"], "libyaml-0.so.2", False), (["glib-2.0"], "libglib-2.0.so.0", True),
    (["ssl"], "libssl3.so", False)])
def test_exclude_names_match_needed_entries(names: list[str], soname: str, expected: bool) -> None:
    assert excludes(names, soname) is expected


def test_check_accepts_an_excluded_library(compile_so: Callable[..., Path]) -> None:
    lib = compile_so("#include <ffi.h>\nvoid *f(void) { return &ffi_type_sint; }\n", "-lffi", name="uses_ffi.so")
    if "libffi.so.8" not in read_elf_file(lib).needed:
        skip_missing("needs libffi.so.8 (Debian: libffi-dev)")
    check = [sys.executable, "-m", "manywheel", "check", "--target", "manylinux_2_17", str(lib)]
    refused = subprocess.run(check, capture_output=True, text=True)
    assert refused.returncode != 0 and "NEEDED libffi.so.8" in refused.stdout
    accepted = subprocess.run(check + ["--exclude", "ffi"], capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def make_nopic_library(libdir: Path) -> None:
    """libdir/libnopic.a compiled without -fPIC (no shared object can hold it), and libnopic.so.1."""
    src = libdir / "np.c"
    src.write_text('static const char msg[] = "hi";\nconst char *np_message(void) { return msg; }\n')
    subprocess.run(["gcc", "-c", "-fno-pic", "-fno-pie", "-O2", str(src), "-o", str(libdir / "np.o")], check=True)
    subprocess.run(["ar", "rcs", str(libdir / "libnopic.a"), str(libdir / "np.o")], check=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libnopic.so.1", "-o", str(libdir / "libnopic.so.1"), str(src)],
                   check=True)
    (libdir / "libnopic.so").symlink_to("libnopic.so.1")


def test_an_archive_that_cannot_go_into_a_shared_object_falls_back_to_bundling(tmp_path: Path) -> None:
    """Through the real wrapper: a non-PIC archive fails to link, the retry bundles the shared library."""
    libdir = tmp_path / "lib"
    libdir.mkdir()
    make_nopic_library(libdir)
    module = tmp_path / "m.c"
    module.write_text("const char *np_message(void);\nconst char *f(void) { return np_message(); }\n")
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), None, project=tmp_path, verbose=False,
                           libraries=LibraryRules(frozenset({"c", "m"})))
    out = tmp_path / "m.so"
    proc = subprocess.run([chain.env["CC"], "-shared", "-fPIC", str(module), f"-L{libdir}", "-lnopic", "-o", str(out)],
                          env=dict(os.environ, **chain.env), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "a static library could not be linked into" in proc.stderr and "bundling the shared library instead" in proc.stderr
    needed = read_elf_file(out).needed
    assert [n for n in needed if n.startswith("libnopic")] == [
        n for n in os.listdir(tmp_path / "tc" / "bundle") if n.startswith("libnopic-")]
    log = linklog.read(chain.link_log)
    assert chain.link_log == tmp_path / "tc" / "links.jsonl"
    assert len(log) == 1 and [b["name"].split("-")[0] for b in log[0]["bundled"]] == ["libnopic"]


def test_an_archive_only_library_stays_static_when_the_link_falls_back_to_bundling(tmp_path: Path) -> None:
    """A project's own archive (setuptools' build_clib writes libNAME.a only) beside a library whose
    archive cannot go into a shared object: the retry bundles the latter and links the former
    statically again, as on the first try, instead of looking for a libNAME.so that never exists."""
    libdir, clib = tmp_path / "lib", tmp_path / "build-temp"
    libdir.mkdir()
    clib.mkdir()
    make_nopic_library(libdir)
    (clib / "own.c").write_text("int own_answer(void) { return 42; }\n")
    subprocess.run(["gcc", "-c", "-fPIC", "-O2", str(clib / "own.c"), "-o", str(clib / "own.o")], check=True)
    subprocess.run(["ar", "rcs", str(clib / "libmwown.a"), str(clib / "own.o")], check=True)
    module = tmp_path / "m.c"
    module.write_text("const char *np_message(void); int own_answer(void);\n"
                      "int f(void) { return own_answer() + np_message()[0]; }\n")
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), None, project=tmp_path, verbose=False,
                           libraries=LibraryRules(frozenset({"c", "m"})))
    out = tmp_path / "m.so"
    proc = subprocess.run([chain.env["CC"], "-shared", "-fPIC", str(module), f"-L{libdir}", f"-L{clib}", "-lmwown",
                           "-lnopic", "-o", str(out)], env=dict(os.environ, **chain.env), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "bundling the shared library instead" in proc.stderr
    facts = read_elf_file(out)
    assert [n.split("-")[0] for n in facts.needed if n.startswith("lib") and "nopic" in n] == ["libnopic"]
    assert not any("mwown" in n for n in facts.needed)
    assert linklog.read(chain.link_log)[0]["static"] == [str(clib / "libmwown.a")]
