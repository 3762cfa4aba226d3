"""Libraries built from source for the baseline (``from-source``, issue #25).

tests/projects/fromsource links libmwtiny, which it finds the usual way (mwtiny-config or
pkg-config on PATH); libmwtiny's source is a small autotools-style tree and a CMake tree under
its libs/.  Debian's libraries are built by the real-world runs (tests/realworld/projects.json:
lxml and pycurl for x86_64; lxml cross-built for aarch64 in tests/integration/test_cross.py).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.common import PROJECTS, copy_project, run, skip_missing
from tests.integration.helpers import elf_files, only_wheel, platform_tag, python_build

pytestmark = pytest.mark.slow

PROJECT = PROJECTS / "fromsource"
LIBS = PROJECT / "libs"


def _options(source: Path, *more: str) -> list[str]:
    return [f"-Cmanywheel.from-source-options=mwtiny.source={source}" + "".join(f",{m}" for m in more)]


def _import(wheel: Path, tmp_path: Path) -> str:
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(installed)
    result = run([sys.executable, "-c", "import mw_fromsource as m; print(m.answer(), m.where())"],
                 env=dict(os.environ, PYTHONPATH=str(installed)))
    return result.stdout.strip()


def _tarball(tree: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)
    return out


def test_a_local_tarball_is_built_static_and_reused_from_the_cache(tmp_path: Path, build_env: dict[str, str]) -> None:
    """The autotools-style tree as a tarball: built with the pinned compiler, linked statically (no
    .libs, no NEEDED on it), named in the SBOM; the second build takes it from the cache."""
    project = copy_project(PROJECT, tmp_path)
    source = _tarball(LIBS / "mwtiny-1.0", tmp_path / "mwtiny-1.0.tar.gz")
    first = python_build(project, tmp_path / "dist1", build_env, *_options(source))
    assert "library mwtiny 1.0: built in" in first.stderr, first.stderr
    wheel = only_wheel(tmp_path / "dist1")
    assert platform_tag(wheel).startswith("manylinux_2_17_x86_64"), wheel.name
    files = elf_files(wheel)
    assert list(files) == ["mw_fromsource/_core.cpython-%d%d-x86_64-linux-gnu.so" % sys.version_info[:2]]
    assert b"libmwtiny.so" not in next(iter(files.values()))  # linked statically: no NEEDED entry
    assert _import(wheel, tmp_path) == "42 autotools"
    with zipfile.ZipFile(wheel) as zf:
        sbom = json.loads(zf.read("mw_fromsource-0.1.0.dist-info/sboms/manywheel.cdx.json"))
    component = next(c for c in sbom["components"] if c["name"] == "mwtiny")
    assert component["version"] == "1.0"
    assert "built from source by manywheel for manylinux_2_17_x86_64" in component["description"]
    second = python_build(project, tmp_path / "dist2", build_env, *_options(source))
    assert "library mwtiny 1.0: cached" in second.stderr, second.stderr
    assert "built in" not in second.stderr.split("library mwtiny")[1].split("\n")[0]


def test_a_cmake_tree_is_detected_and_built(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECT, tmp_path)
    proc = python_build(project, tmp_path / "dist", build_env, *_options(LIBS / "mwtiny-cmake-1.0"))
    assert "library mwtiny: configured (cmake)" in proc.stderr, proc.stderr
    assert _import(only_wheel(tmp_path / "dist"), tmp_path) == "42 cmake"


def test_an_unknown_library_is_one_clear_error(tmp_path: Path, build_env: dict[str, str]) -> None:
    if shutil.which("apt-get") is None:
        skip_missing("needs apt-get", "Debian/Ubuntu hosts have it")
    project = copy_project(PROJECT, tmp_path)  # from-source = ["mwtiny"], no source given
    proc = python_build(project, tmp_path / "dist", build_env, check=False)
    assert proc.returncode != 0
    assert "manywheel: error: from-source names 'mwtiny': no Debian source package, -l name or pkg-config" \
           in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr.split("manywheel: error:")[1]
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.whl"))


def test_a_failing_library_build_shows_the_command_the_log_tail_and_the_log(tmp_path: Path,
                                                                          build_env: dict[str, str]) -> None:
    project = copy_project(PROJECT, tmp_path)
    proc = python_build(project, tmp_path / "dist", build_env, check=False,
                        *_options(LIBS / "mwtiny-1.0", "mwtiny.args=--fail-on-purpose"))
    assert proc.returncode != 0
    err = proc.stderr
    assert "manywheel: error: building mwtiny failed at its configure step (exit 1)" in err, err
    assert "./configure" in err and "--fail-on-purpose" in err
    assert "configure: error: asked to fail (--fail-on-purpose)" in err  # the log's tail
    log = next(line.split("the whole log is ")[1].split(";")[0] for line in err.splitlines() if "the whole log is" in line)
    assert Path(log).is_file() and "asked to fail" in Path(log).read_text()
    assert not list(tmp_path.glob("dist/*.whl"))


def test_a_tarball_that_is_not_a_source_tree_is_refused(tmp_path: Path, build_env: dict[str, str]) -> None:
    notes = tmp_path / "notes-1.0"
    notes.mkdir()
    (notes / "README").write_text("no build system here\n")
    project = copy_project(PROJECT, tmp_path)
    proc = python_build(project, tmp_path / "dist", build_env, check=False,
                        *_options(_tarball(notes, tmp_path / "notes-1.0.tar.gz")))
    assert proc.returncode != 0
    assert "is not a source tree manywheel can build: it has no configure, Configure, CMakeLists.txt or meson.build" \
           in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("dist/*.whl"))


def test_a_listed_librarys_missing_dependency_is_named(tmp_path: Path, build_env: dict[str, str]) -> None:
    """libxslt needs libxml2; cross-building, the host's copy is for another architecture."""
    project = copy_project(PROJECT, tmp_path)
    proc = python_build(project, tmp_path / "dist", build_env, "-Cmanywheel.arch=aarch64",
                        "-Cmanywheel.from-source=libxslt", check=False)
    assert proc.returncode != 0
    assert "manywheel: error: from-source: libxslt needs libxml2, which is not in from-source" in proc.stderr, proc.stderr
    assert "hint: add libxml2 to from-source" in proc.stderr


def test_a_host_copy_named_by_path_fails_the_link(tmp_path: Path, build_env: dict[str, str]) -> None:
    """A link that names another libmwtiny.so by path (as a host's /usr/lib copy would be) fails,
    naming it: a library built from source comes from its prefix only."""
    host = tmp_path / "host"
    host.mkdir()
    run(["gcc", "-shared", "-fPIC", "-DMWTINY_WHERE=\"host\"", "-o", str(host / "libmwtiny.so"),
         str(LIBS / "mwtiny-1.0" / "mwtiny.c")])
    project = copy_project(PROJECT, tmp_path)
    setup = project / "setup.py"
    setup.write_text(setup.read_text().replace(
        "libraries=[f[2:] for f in flags if f.startswith(\"-l\")])",
        f"extra_objects=[{str(host / 'libmwtiny.so')!r}])"))
    proc = python_build(project, tmp_path / "dist", build_env, check=False, *_options(LIBS / "mwtiny-1.0"))
    assert proc.returncode != 0
    assert f"the link names {host / 'libmwtiny.so'}, the host's libmwtiny, and libmwtiny is built from source" \
           in proc.stderr, proc.stderr


def test_a_library_built_shared_on_request_is_bundled(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECT, tmp_path)
    proc = python_build(project, tmp_path / "dist", build_env, *_options(LIBS / "mwtiny-cmake-1.0", "mwtiny.shared=true"))
    assert "shared, as [tool.manywheel.from-source-options.mwtiny] shared asks; the wheel bundles it" in proc.stderr, \
        proc.stderr
    wheel = only_wheel(tmp_path / "dist")
    assert platform_tag(wheel).startswith("manylinux_2_17_x86_64"), wheel.name
    bundled = [name for name in elf_files(wheel) if name.startswith("mw_fromsource.libs/")]
    assert len(bundled) == 1 and bundled[0].split("/")[1].startswith("libmwtiny-"), bundled
    assert _import(wheel, tmp_path) == "42 cmake"
