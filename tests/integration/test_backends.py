"""scikit-build-core and meson-python as inner backends (issue #14): tests/projects/skbuild_pybind11
(CMake, pybind11, C++17) and tests/projects/meson_mixed (a C and a C++ extension) built with
`python -m build`, `pip wheel` and `pip install -e .`. The wheels are manylinux_2_17, auditwheel
agrees, their RECORD is valid after manywheel's retag, and their own tests pass in the glibc 2.31
root; the inner backend's own -C settings pass through unchanged, manywheel's `jobs` reaches
CMake's and ninja's parallelism, and verbose mode shows the compiler commands they run."""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from manywheel.inner.hooks import inner_options
from tests import oldroot
from tests.common import PROJECTS, copy_project, run, tree_digest
from tests.integration.test_parallel_build import most_at_once
from tests.integration.helpers import (assert_auditwheel_agrees, only_wheel, pip_wheel, platform_tag, python_build,
                                       require_root, run_project_tests)

pytestmark = pytest.mark.slow
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
# A launcher in CC/CXX, as ccache would be: records when each compile of the project's own sources
# (`-c .../src/...`, `-c .../csrc/...`) runs, then runs the compiler; CMake's and meson's probes pass through.
TIMING_LAUNCHER = """#!/bin/sh
case " $* " in *" -c "*src/*) ;; *) exec "$@";; esac
echo "start $(date +%s.%N)" >> "$MW_TIMES"
sleep 0.5
"$@"; rc=$?
echo "end $(date +%s.%N)" >> "$MW_TIMES"
exit $rc
"""
@dataclass(frozen=True)
class Sample:
    name: str
    project: Path
    modules: tuple[str, ...]  # compiled modules, as imported
    sources: int  # the project's own source files (compiles)
    passed: tuple[str, ...]  # -C settings of the inner backend
    shows_passed: str  # code printing what those settings changed in the module
    expected: str  # what it prints
    launcher_vars: tuple[str, ...]  # the compiler variables its build system uses


SKBUILD = Sample("skbuild", PROJECTS / "skbuild_pybind11", ("skdemo._core",), 2,
                 ("-C", "cmake.define.SKDEMO_FLAG=ON"), "import skdemo; print(skdemo.flag)", "True", ("CXX",))
MESON = Sample("meson", PROJECTS / "meson_mixed", ("mesonmixed._cmod", "mesonmixed._cppmod"), 2,
               ("-C", "setup-args=-Dgreeting=bonjour"), "import mesonmixed; print(mesonmixed.greeting())", "bonjour",
               ("CC", "CXX"))
SAMPLES = [pytest.param(SKBUILD, id="skbuild"), pytest.param(MESON, id="meson")]


@pytest.fixture(scope="module")
def root() -> Path:
    return require_root()


def timed_env(env: dict[str, str], tmp_path: Path, sample: Sample) -> dict[str, str]:
    launcher = tmp_path / "timing-launcher"
    launcher.write_text(TIMING_LAUNCHER)
    launcher.chmod(0o755)
    compilers = {"CC": "gcc", "CXX": "g++"}
    return dict(env, MW_TIMES=str(tmp_path / "times"), **{v: f"{launcher} {compilers[v]}" for v in sample.launcher_vars})



def compiles(times: Path) -> int:
    return sum(line.startswith("start ") for line in times.read_text().splitlines())


def assert_record_and_tags_valid(wheel: Path) -> None:
    """After the retag the wheel is whole: RECORD lists every member once with its sha256 and size,
    and WHEEL's Tag lines are the tags of the file name (none of the inner backend's linux_x86_64)."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        rows = list(csv.reader(io.StringIO(zf.read(f"{dist_info}/RECORD").decode())))
        recorded = {path: (digest, size) for path, digest, size in rows}
        assert len(recorded) == len(rows), "a member is listed twice in RECORD"
        assert sorted(recorded) == sorted(names), set(recorded) ^ set(names)
        for name in names:
            if name == f"{dist_info}/RECORD":
                assert recorded[name] == ("", ""), recorded[name]
                continue
            data = zf.read(name)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert recorded[name] == (f"sha256={digest}", str(len(data))), name
        wheel_meta = zf.read(f"{dist_info}/WHEEL").decode()
    python, abi, platforms = wheel.name[:-4].split("-")[-3:]
    tags = sorted(line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:"))
    assert tags == sorted(f"{python}-{abi}-{p}" for p in platforms.split(".")), wheel_meta
    assert "Root-Is-Purelib: false" in wheel_meta, wheel_meta


def install_and_run(wheel: Path, where: Path, code: str) -> str:
    """pip installs the wheel into ``where`` (it checks the wheel as it installs it), then runs ``code`` there."""
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--target", str(where),
         str(wheel)])
    return run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(where))).stdout


def fresh_venv(where: Path) -> Path:
    venv.create(where, with_pip=True)
    return where / "bin" / "python"


def project_tests_on_host(py: Path, sample: Sample, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The project's own tests with ``py``, from a directory holding only a copy of them: the module
    must come from the installation, not from the source tree."""
    copy_project(sample.project / "tests", cwd)
    proc = run([py, "-m", "unittest", "discover", "-s", "tests", "-v"], cwd=cwd)
    assert re.search(r"Ran [1-9]\d* tests?", proc.stderr), proc.stderr
    return proc


# -- python -m build, for the root's Python 3.9 -----------------------------------------------------

@pytest.mark.oldglibc
@pytest.mark.parametrize("sample", SAMPLES)
def test_python_m_build_for_python39_passes_its_tests_on_glibc_2_31(
        tmp_path: Path, build_env: dict[str, str], root: Path, python39: str, sample: Sample) -> None:
    project = copy_project(sample.project, tmp_path)
    before = tree_digest(project)
    env = timed_env(build_env, tmp_path, sample)
    proc = python_build(project, tmp_path / "dist", env, python=python39)
    log = proc.stdout + proc.stderr
    wheel = only_wheel(tmp_path / "dist")
    assert platform_tag(wheel) == TAG_2_17 and "-cp39-cp39-" in wheel.name, wheel.name
    assert f"manywheel: {len(sample.modules)} ELF file{'s' if len(sample.modules) > 1 else ''} verified" in log, log
    assert_auditwheel_agrees(wheel)
    assert_record_and_tags_valid(wheel)
    assert compiles(tmp_path / "times") == sample.sources
    # The default, one job per core: the two sources compile at once where there are two cores.
    assert most_at_once(tmp_path / "times") == min(sample.sources, os.cpu_count() or 1)
    assert tree_digest(project) == before
    result = run_project_tests(root, wheel, sample.project)
    assert result.returncode == 0, oldroot.describe(result)
    assert re.search(r"Ran [1-9]\d* tests?", result.stderr), result.stderr


# -- pip wheel: the inner backend's settings, verbose, jobs -------------------------------------------

@pytest.mark.parametrize("sample", SAMPLES)
def test_pip_wheel_passes_the_inner_backends_settings_and_shows_its_compiler_commands(
        tmp_path: Path, build_env: dict[str, str], sample: Sample) -> None:
    proc = pip_wheel(copy_project(sample.project, tmp_path), tmp_path / "dist", build_env, "-v",
                     *sample.passed, "-C", "manywheel.verbose=true")
    log = proc.stdout + proc.stderr
    wheel = only_wheel(tmp_path / "dist")
    assert platform_tag(wheel) == TAG_2_17 and "-cp311-cp311-" in wheel.name, wheel.name
    assert_record_and_tags_valid(wheel)
    commands = [line for line in log.splitlines() if "manywheel: $ " in line]
    # each source compiled, each module linked, every command with the pin header
    compiled = {m.group(1) for c in commands if (m := re.search(r" -c (\S*src/\S+)", c))}
    assert len(compiled) == sample.sources, commands
    linked = {m.group(1) for c in commands if "--version-script=" in c and (m := re.search(r" -o (\S+)", c))}
    assert len(linked) == len(sample.modules), commands
    assert all("pins.h" in c for c in commands), commands
    assert install_and_run(wheel, tmp_path / "site", sample.shows_passed).strip() == sample.expected


@pytest.mark.parametrize("sample", SAMPLES)
def test_one_job_reaches_cmake_and_ninja(tmp_path: Path, build_env: dict[str, str], sample: Sample) -> None:
    env = timed_env(build_env, tmp_path, sample)
    proc = pip_wheel(copy_project(sample.project, tmp_path), tmp_path / "dist", env, "-v", "-C", "manywheel.jobs=1")
    log = proc.stdout + proc.stderr
    assert platform_tag(only_wheel(tmp_path / "dist")) == TAG_2_17
    assert most_at_once(tmp_path / "times") == 1
    if sample is MESON:
        assert re.search(r"^\s*\+ \S*ninja -j1$", log, re.M), log  # meson-python prints the command it runs
    else:
        assert "CMAKE_BUILD_PARALLEL_LEVEL=1" in log, log


def test_pip_wheel_compiles_each_meson_source_once(tmp_path: Path, build_env: dict[str, str]) -> None:
    pip_wheel(copy_project(MESON.project, tmp_path), tmp_path / "dist", timed_env(build_env, tmp_path, MESON))
    assert platform_tag(only_wheel(tmp_path / "dist")) == TAG_2_17
    assert compiles(tmp_path / "times") == MESON.sources


# -- pip install -e ------------------------------------------------------------------------------------

def test_pip_install_editable_scikit_build_core(tmp_path: Path, build_env: dict[str, str]) -> None:
    """scikit-build-core's default editable mode: the module is built once and installed into
    site-packages (verified and tagged like a wheel's); Python files are used from the source tree."""
    py = fresh_venv(tmp_path / "venv")
    project = copy_project(SKBUILD.project, tmp_path)
    proc = run([py, "-m", "pip", "install", "-v", "--disable-pip-version-check", "-e", str(project)], env=build_env)
    log = proc.stdout + proc.stderr
    assert "manywheel: 1 ELF file verified" in log, log
    assert f"skdemo-1.0.0-cp311-cp311-{TAG_2_17}.whl" in log, log
    (tmp_path / "neutral").mkdir()
    project_tests_on_host(py, SKBUILD, tmp_path / "neutral")
    probe: list[str | Path] = [py, "-c", "import skdemo; print(skdemo.__file__, getattr(skdemo, 'EDITED', 'no'))"]
    assert run(probe, cwd=tmp_path / "neutral").stdout.split() == [str(project / "src/skdemo/__init__.py"), "no"]
    with open(project / "src" / "skdemo" / "__init__.py", "a") as f:
        f.write("\nEDITED = 'yes'\n")
    assert run(probe, cwd=tmp_path / "neutral").stdout.split()[1] == "yes"


def test_pip_install_editable_meson_python_rebuilds_on_import(tmp_path: Path, build_env: dict[str, str]) -> None:
    """meson-python's editable install: a loader that runs ninja in build/cp311 on import, so the
    build requirements must stay installed (--no-build-isolation, as meson-python documents)."""
    py = fresh_venv(tmp_path / "venv")
    env = dict(build_env, PATH=f"{py.parent}{os.pathsep}{build_env['PATH']}")  # meson and ninja of the venv
    run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "manywheel", "meson-python", "ninja"],
        env=env)
    project = copy_project(MESON.project, tmp_path)
    proc = run([py, "-m", "pip", "install", "-v", "--disable-pip-version-check", "--no-build-isolation", "-e",
                str(project)], env=env, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "manywheel: 0 ELF files verified" not in log and "manywheel: 2 ELF files verified" in log, log
    (tmp_path / "neutral").mkdir()
    project_tests_on_host(py, MESON, tmp_path / "neutral")
    source = project / "src" / "cmod.c"
    source.write_text(source.read_text().replace("PyUnicode_FromString(MESONMIXED_GREETING)",
                                                 'PyUnicode_FromString("edited")'))
    probe = run([py, "-c", "import mesonmixed; print(mesonmixed.greeting())"], cwd=tmp_path / "neutral", env=env)
    assert probe.stdout.strip().splitlines()[-1] == "edited", probe.stdout + probe.stderr


# -- inner_options: what each backend is given ----------------------------------------------------------

@pytest.mark.parametrize(("backend", "environ", "given", "pyproject", "env", "settings"), [
    ("scikit_build_core.build", {}, None, "", {"CMAKE_BUILD_PARALLEL_LEVEL": "3"}, None),
    ("scikit_build_core.build", {}, {"cmake.define.X": "ON"}, "", {"CMAKE_BUILD_PARALLEL_LEVEL": "3"},
     {"cmake.define.X": "ON"}),
    ("scikit_build_core.build", {"CMAKE_BUILD_PARALLEL_LEVEL": "7"}, None, "", {}, None),
    ("mesonpy", {}, None, "", {}, {"compile-args": ["-j3"]}),
    ("mesonpy", {}, {"compile-args": "-v", "setup-args": "-Dx=1"}, "", {},
     {"compile-args": ["-v", "-j3"], "setup-args": "-Dx=1"}),
    ("mesonpy", {}, {"compile-args": ["-j", "9"]}, "", {}, {"compile-args": ["-j", "9"]}),
    ("mesonpy", {}, {"compile-args": "-j9"}, "", {}, {"compile-args": "-j9"}),
    ("mesonpy", {}, None, '[tool.meson-python.args]\ncompile = ["-j5"]\n', {}, None),
    ("setuptools.build_meta", {}, {"--build-option": "x"}, "", {}, {"--build-option": "x"}),
], ids=["skbuild", "skbuild-settings-kept", "skbuild-user-level", "meson", "meson-args-kept", "meson-user-j",
        "meson-user-j-string", "meson-user-j-pyproject", "setuptools-untouched"])
def test_inner_options(tmp_path: Path, backend: str, environ: dict[str, str], given: dict[str, object] | None,
                       pyproject: str, env: dict[str, str], settings: dict[str, object] | None) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    options = inner_options(backend, 3, given, environ, tmp_path)
    assert (options.env, options.config_settings) == (env, settings)
    if given is not None:
        assert options.config_settings is not given  # the caller's mapping is never changed
