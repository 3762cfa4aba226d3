"""External libraries (outside the allow-list): linked statically or bundled at build time,
with no repair step; the wheels are judged by auditwheel and run on glibc 2.31."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.check.elf import read_elf_bytes
from tests import oldroot
from tests.common import PROJECTS, copy_project, run, skip_missing, tree_digest
from tests.integration.helpers import (assert_auditwheel_agrees, elf_files, only_wheel, platform_tag, python_build,
                                       require_root, run_project_tests)

pytestmark = [pytest.mark.slow]
PROJECT = PROJECTS / "extlibs"
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")


@pytest.fixture(scope="module", autouse=True)
def dev_packages() -> None:
    missing = [p for p in ("libyaml.a", "libffi_pic.a", "libyaml.so", "libffi.so") if not (LIBDIR / p).exists()]
    if missing:
        skip_missing(f"{', '.join(missing)} missing in {LIBDIR}: apt-get install libyaml-dev libffi-dev",
                     "tools/test.sh installs them")


def run_in_old_root(wheel: Path) -> subprocess.CompletedProcess[str]:
    return run_project_tests(require_root(python311=True), wheel, PROJECT)


def test_static_archives_are_linked_in_and_the_wheel_stays_manylinux_2_17(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECT, tmp_path)
    before = tree_digest(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env)
    wheel = only_wheel(out)
    assert platform_tag(wheel) == TAG_2_17
    assert "linked libyaml statically from" in proc.stderr and "linked libffi statically from" in proc.stderr
    files = elf_files(wheel)
    assert list(files) == [n for n in files if n.startswith("mw_extlibs/_core")], files.keys()
    facts = read_elf_bytes(next(iter(files.values())), "core")
    assert not any("yaml" in lib or "ffi" in lib for lib in facts.needed), facts.needed
    assert not any(s.startswith(("yaml_", "ffi_")) for s in facts.exported), "archive symbols must stay hidden"
    assert assert_auditwheel_agrees(wheel) == "manylinux_2_17_x86_64"
    assert tree_digest(project) == before
    result = run_in_old_root(wheel)
    assert result.returncode == 0, oldroot.describe(result)
    assert "Ran 4 tests" in result.stderr and "skipped=1" in result.stderr


def test_bundled_libraries_get_unique_names_a_relative_runpath_and_an_honest_tag(
        tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    proc = python_build(copy_project(PROJECT, tmp_path), out, build_env, "-C", "manywheel.bundle=yaml,ffi")
    wheel = only_wheel(out)
    files = elf_files(wheel)
    bundled = sorted(n for n in files if n.startswith("mw_extlibs.libs/"))
    assert [n.split("/")[1].split("-")[0] for n in bundled] == ["libffi", "libyaml"], bundled
    core = read_elf_bytes(files[next(n for n in files if n.startswith("mw_extlibs/_core"))], "core")
    assert sorted(lib for lib in core.needed if lib.startswith("lib") and ("yaml" in lib or "ffi" in lib)) == \
        sorted(n.split("/")[1] for n in bundled)
    assert (core.runpath or core.rpath) == ("$ORIGIN/../mw_extlibs.libs",)
    for name in bundled:
        lib = read_elf_bytes(files[name], name)
        assert lib.soname is None, f"{name} keeps DT_SONAME {lib.soname}: a system copy could be mistaken for it"
    # Debian 12's libffi and libyaml were built against glibc 2.36: the tag says what they need.
    ours = platform_tag(wheel).split(".")[0]
    assert ours != "manylinux_2_17_x86_64" or "warning: bundled" not in proc.stderr
    if ours != "manylinux_2_17_x86_64":
        assert "warning: bundled mw_extlibs.libs/" in proc.stderr and "link them statically" in proc.stderr
    assert_auditwheel_agrees(wheel)
    result = run_in_old_root(wheel)
    assert result.returncode == 0, oldroot.describe(result)


def add_demo_library(project: Path) -> None:
    """vendor/libmwdemo.so.1 (a shared library with no archive beside it) for the _demo module."""
    vendor = project / "vendor"
    vendor.mkdir()
    (vendor / "mwdemo.c").write_text("int mwdemo_triple(int n) { return 3 * n; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wl,-soname,libmwdemo.so.1", "-o", str(vendor / "libmwdemo.so.1"),
                    str(vendor / "mwdemo.c")], check=True)
    (vendor / "libmwdemo.so").symlink_to("libmwdemo.so.1")


def test_a_library_without_an_archive_is_bundled_and_keeps_manylinux_2_17(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECT, tmp_path)
    add_demo_library(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env)
    wheel = only_wheel(out)
    assert platform_tag(wheel) == TAG_2_17
    assert "no static libmwdemo.a on the library search path" in proc.stderr
    files = elf_files(wheel)
    assert [n for n in files if n.startswith("mw_extlibs.libs/")] == [
        n for n in files if n.startswith("mw_extlibs.libs/libmwdemo-") and n.endswith(".so.1")]
    assert assert_auditwheel_agrees(wheel) == "manylinux_2_17_x86_64"
    result = run_in_old_root(wheel)
    assert result.returncode == 0, oldroot.describe(result)
    assert "Ran 4 tests" in result.stderr and "skipped" not in result.stderr


def test_static_without_an_archive_fails_naming_the_library_and_the_search_path(
        tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECT, tmp_path)
    add_demo_library(project)
    before = tree_digest(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env, "-C", "manywheel.static=mwdemo", check=False)
    assert proc.returncode != 0
    assert "[tool.manywheel] static lists 'mwdemo', but neither libmwdemo_pic.a nor libmwdemo.a" in proc.stderr
    assert "hint: install the static library" in proc.stderr
    assert not out.exists() or not list(out.glob("*.whl"))
    assert tree_digest(project) == before


def test_excluded_libraries_stay_needed_and_are_accepted(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    python_build(copy_project(PROJECT, tmp_path), out, build_env, "-C", "manywheel.exclude=yaml,libffi.so.8")
    wheel = only_wheel(out)
    assert platform_tag(wheel) == TAG_2_17
    core = read_elf_bytes(next(iter(elf_files(wheel).values())), "core")
    assert {"libffi.so.8", "libyaml-0.so.2"} <= set(core.needed)


def add_nopic_library(project: Path) -> None:
    """vendor/libmwnopic.a, compiled without -fPIC (no shared object can hold it), and vendor/libmwnopic.so.1."""
    vendor = project / "vendor"
    vendor.mkdir()
    src = vendor / "mwnopic.c"
    src.write_text('static const char message[] = "from libmwnopic";\n'
                   "const char *mwnopic_message(void) { return message; }\n")
    subprocess.run(["gcc", "-c", "-fno-pic", "-fno-pie", "-O2", str(src), "-o", str(vendor / "mwnopic.o")], check=True)
    subprocess.run(["ar", "rcs", str(vendor / "libmwnopic.a"), str(vendor / "mwnopic.o")], check=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wl,-soname,libmwnopic.so.1", "-o", str(vendor / "libmwnopic.so.1"),
                    str(src)], check=True)
    (vendor / "libmwnopic.so").symlink_to("libmwnopic.so.1")


def test_the_projects_own_static_library_stays_linked_when_another_library_is_bundled(
        tmp_path: Path, build_env: dict[str, str]) -> None:
    """build_clib's libmwclib.a (an archive only) beside libmwnopic, whose archive cannot go into a
    shared object: the link falls back to bundling libmwnopic and keeps libmwclib.a linked in."""
    project = copy_project(PROJECTS / "clib_nopic", tmp_path)
    add_nopic_library(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env)
    assert "bundling the shared library instead" in proc.stderr
    wheel = only_wheel(out)
    files = elf_files(wheel)
    assert [n.split("/")[1].split("-")[0] for n in files if n.startswith("mw_clib.libs/")] == ["libmwnopic"]
    core = read_elf_bytes(files[next(n for n in files if n.startswith("mw_clib/_core"))], "core")
    assert not any("mwclib" in lib for lib in core.needed), core.needed
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(installed)
    result = run([sys.executable, "-c", "import mw_clib; print(mw_clib.answer())"],
                 env=dict(os.environ, PYTHONPATH=str(installed)))
    assert result.stdout.strip() == "(42, 'from libmwnopic')"
