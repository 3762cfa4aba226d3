"""CUDA through manywheel: examples/cuda built with nvcc from PyPI (no toolkit on PATH), with the
CUDA runtime linked statically or provided by the nvidia-cuda-runtime wheel; judged by auditwheel
and run in the glibc 2.31 root (no GPU there: the no-device path)."""
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
from tests.common import PROJECTS, REPO, copy_project, run, tree_digest
from tests.integration.helpers import (assert_auditwheel_agrees, elf_files, only_wheel, platform_tag, python_build,
                                       require_root, run_project_tests)
from tests.realworld.steps import CACHE, patchelf_path

pytestmark = [pytest.mark.slow]
EXAMPLE = REPO / "examples" / "cuda"
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
MODULE = "cudademo/_core.cpython-311-x86_64-linux-gnu.so"
CUDA_WHEELS = ("nvidia-cuda-nvcc>=13,<14", "nvidia-cuda-crt>=13,<14", "nvidia-nvvm>=13,<14", "nvidia-cuda-runtime>=13,<14")
WHEEL_CACHE = CACHE.parent / "cuda"


@pytest.fixture(scope="module")
def cuda_wheels() -> Path:
    """The CUDA 13 wheels from PyPI (about 125 MB), downloaded once into the user cache."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary", ":all:", "-d", str(WHEEL_CACHE), *CUDA_WHEELS], timeout=1800)
    return WHEEL_CACHE


@pytest.fixture()
def cuda_env(build_env: dict[str, str], cuda_wheels: Path) -> dict[str, str]:
    """No CUDA toolkit: no nvcc on PATH, no CUDA variables; the build requirements bring nvcc."""
    env = {k: v for k, v in build_env.items() if k not in ("CUDACXX", "CUDA_HOME", "CUDA_PATH", "NVCC_CCBIN",
                                                            "CUDAHOSTCXX", "CUDADEMO_CUDART")}
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep) if d and not (Path(d) / "nvcc").exists())
    env["PIP_FIND_LINKS"] = f"{env['PIP_FIND_LINKS']} {cuda_wheels}"
    return env


def build(project: Path, out: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return python_build(project, out, env, *args, check=check)


def runtime_wheel(cuda_wheels: Path) -> Path:
    return max(cuda_wheels.glob("nvidia_cuda_runtime-13.*.whl"))


def run_in_root(wheel: Path, *extra: Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """The example's tests (or ``code``) in the root, the wheel and ``extra`` wheels unpacked into one
    site directory (as pip would install them), no LD_LIBRARY_PATH, /proc mounted."""
    root = require_root(python311=True)
    with oldroot.unpacked_wheel(root, wheel) as site:
        for other in extra:
            with zipfile.ZipFile(other) as zf:
                zf.extractall(root / site.lstrip("/"))
        argv = [oldroot.PYTHON311, "-c", code] if code else [oldroot.PYTHON311, "-m", "unittest", "discover", "-s", "tests", "-v"]
        return oldroot.run_in_root(root, argv, copy_in={EXAMPLE / "tests": "tests"}, env={"PYTHONPATH": site},
                                   mount_proc=True)


MAPS = ("import cudademo; print(cudademo.device()); "
        "print('\\n'.join(l.split()[-1] for l in open('/proc/self/maps') if 'libcudart' in l))")


def test_static_cudart_with_nvcc_from_pypi(tmp_path: Path, cuda_env: dict[str, str]) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    before = tree_digest(project)
    proc = build(project, tmp_path / "dist", cuda_env)
    wheel = only_wheel(tmp_path / "dist")
    log = proc.stdout + proc.stderr
    assert re.search(r"CUDA: nvcc \S*/site-packages/nvidia/cu13/bin/nvcc, host compiler \S+ \(wrapped\)", log), log
    assert "outside the policy's allow-list" not in log  # libcudart_static is an archive by nature
    assert re.search(r"SBOM \S+: libcudart_static\.a \(nvidia-cuda-runtime 13\.\d+", log), log
    assert platform_tag(wheel) == TAG_2_17
    assert_auditwheel_agrees(wheel)
    check = run([sys.executable, "-m", "manywheel", "check", str(wheel)])
    assert re.search(rf"CUDA: {re.escape(MODULE)} has the CUDA 13\.\S+ runtime linked in \(nvidia-cuda-runtime, "
                     r"from the SBOM\)", check.stdout), check.stdout
    facts = read_elf_bytes(elf_files(wheel)[MODULE], MODULE)
    assert not any("cudart" in n for n in facts.needed) and facts.runpath == ()
    assert tree_digest(project) == before
    result = run_in_root(wheel)
    assert result.returncode == 0, oldroot.describe(result)
    assert "device: host (" in result.stdout + result.stderr
    maps = run_in_root(wheel, code=MAPS)
    assert maps.returncode == 0 and "'host'" in maps.stdout and "libcudart" not in maps.stdout, oldroot.describe(maps)


def test_cudart_provided_by_the_nvidia_wheel(tmp_path: Path, cuda_env: dict[str, str], cuda_wheels: Path) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    proc = build(project, tmp_path / "dist", {**cuda_env, "CUDADEMO_CUDART": "shared"})
    wheel = only_wheel(tmp_path / "dist")
    log = proc.stdout + proc.stderr
    assert f"{MODULE} needs libcudart.so.13 (nvidia-cuda-runtime 13." in log, log
    assert platform_tag(wheel) == TAG_2_17
    facts = read_elf_bytes(elf_files(wheel)[MODULE], MODULE)
    assert "libcudart.so.13" in facts.needed and facts.runpath == ("$ORIGIN/../nvidia/cu13/lib",)
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read("cudademo-1.0.0.dist-info/METADATA").decode()
        assert not any(n.startswith("cudademo.libs/") for n in zf.namelist())
    assert "Requires-Dist: nvidia-cuda-runtime<14,>=13" in metadata
    # auditwheel show has no --exclude; its repair has: with libcudart.so.13 excluded it keeps the
    # tag and grafts nothing.
    env = {**os.environ, "PATH": patchelf_path() + os.pathsep + os.environ["PATH"]}
    run([sys.executable, "-m", "auditwheel", "repair", "--exclude", "libcudart.so.13", "--plat",
         "manylinux_2_17_x86_64", "-w", str(tmp_path / "repaired"), str(wheel)], env=env)
    repaired = only_wheel(tmp_path / "repaired")
    assert set(platform_tag(repaired).split(".")) == set(TAG_2_17.split("."))
    with zipfile.ZipFile(repaired) as zf:
        assert not any(".libs/" in n for n in zf.namelist())
    # manywheel check: refused without the rule, accepted with it, Requires-Dist covers it.
    check = [sys.executable, "-m", "manywheel", "check", str(wheel)]
    assert run(check, check=False).returncode == 1
    ok = run(check + ["--provided-by", "libcudart.so.13=nvidia-cuda-runtime"], check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "needs libcudart.so.13 from nvidia-cuda-runtime; required by the wheel's Requires-Dist" in ok.stdout
    assert "CUDA: cudademo/_core" in ok.stdout and "runtime (libcudart.so.13)" in ok.stdout
    # In the root: the provider's directory, as pip would install it beside the module.
    result = run_in_root(wheel, runtime_wheel(cuda_wheels))
    assert result.returncode == 0, oldroot.describe(result)
    maps = run_in_root(wheel, runtime_wheel(cuda_wheels), code=MAPS)
    assert maps.returncode == 0, oldroot.describe(maps)
    assert re.search(r"^/tmp/mw-wheel-[^/]+/nvidia/cu13/lib/libcudart\.so\.13$", maps.stdout, re.M), maps.stdout
    # Without the provider installed the module cannot load: the RUNPATH is what finds it.
    missing = run_in_root(wheel, code=MAPS)
    assert missing.returncode != 0 and "libcudart.so.13: cannot open shared object file" in missing.stderr


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def assert_refused(proc: subprocess.CompletedProcess[str], out: Path, *expected: str) -> None:
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log
    for text in expected:
        assert text in log, log
    assert "Traceback" not in log.split("ERROR Backend")[0], log
    assert not list(out.glob("*.whl")) if out.exists() else True


def test_a_provider_the_dependencies_do_not_require_is_refused(tmp_path: Path, cuda_env: dict[str, str]) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    _edit(project / "setup.py", 'install_requires=["nvidia-cuda-runtime>=13,<14"] if CUDART == "shared" else []',
          "install_requires=[]")
    out = tmp_path / "dist"
    proc = build(project, out, {**cuda_env, "CUDADEMO_CUDART": "shared"}, check=False)
    assert_refused(proc, out, f"manywheel: error: {MODULE} needs libcudart.so.13, which [tool.manywheel.provided-by] "
                              "says nvidia-cuda-runtime provides, but the project's dependencies do not require "
                              "nvidia-cuda-runtime", "hint: add 'nvidia-cuda-runtime' to [project] dependencies")


@pytest.mark.parametrize(("rule", "message"), [
    ("libcublas.so.13=nvidia-cublas", "says nvidia-cublas provides 'libcublas.so.13', but nvidia-cublas is not "
                                      "installed in the build environment"),
    ("libcublas.so.13=nvidia-cuda-runtime", "says nvidia-cuda-runtime provides 'libcublas.so.13', but "
                                            "nvidia-cuda-runtime 13.")])
def test_a_provided_library_missing_from_the_build_environment_is_refused(
        tmp_path: Path, cuda_env: dict[str, str], rule: str, message: str) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    out = tmp_path / "dist"
    proc = build(project, out, cuda_env, f"-Cmanywheel.provided-by={rule}", check=False)
    assert_refused(proc, out, message)


def test_nvcc_refusing_the_host_gcc_says_which_versions_it_accepts(tmp_path: Path, cuda_env: dict[str, str],
                                                                     cuda_wheels: Path) -> None:
    """A CUDA whose host_config.h stops at gcc 11 (this one's, edited), with the host's gcc 12."""
    toolkit = tmp_path / "toolkit"
    for name in ("nvidia_cuda_nvcc", "nvidia_cuda_crt", "nvidia_nvvm", "nvidia_cuda_runtime"):
        with zipfile.ZipFile(max(cuda_wheels.glob(f"{name}-13.*.whl"))) as zf:
            for info in zf.infolist():
                zf.extract(info, toolkit)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    (toolkit / info.filename).chmod(mode)
    top = toolkit / "nvidia" / "cu13"
    config = top / "include" / "crt" / "host_config.h"
    newest = re.search(r"#if __GNUC__ > (\d+)", config.read_text())
    assert newest, "host_config.h no longer bounds the gcc version this way"
    _edit(config, newest.group(0), "#if __GNUC__ > 11")
    gcc = subprocess.run(["g++", "-dumpversion"], capture_output=True, text=True, check=True).stdout.strip()
    if int(gcc.split(".")[0]) <= 11:
        pytest.skip(f"the host g++ is {gcc}: an edited bound of 11 does not refuse it")
    project = copy_project(EXAMPLE, tmp_path)
    out = tmp_path / "dist"
    proc = build(project, out, {**cuda_env, "CUDACXX": str(top / "bin" / "nvcc")}, check=False)
    assert_refused(proc, out, "manywheel: error: nvcc (CUDA 13.", "accepts gcc 11 and older as its host compiler",
                   f"is gcc {gcc}", "hint: install a gcc this CUDA accepts and name it in NVCC_CCBIN")


def test_a_cmake_project_with_cuda_sources_through_scikit_build_core(tmp_path: Path, cuda_env: dict[str, str]) -> None:
    """CMake takes nvcc from CUDACXX and its host compiler from CUDAHOSTCXX: both manywheel's."""
    project = copy_project(PROJECTS / "cuda_cmake", tmp_path)
    proc = build(project, tmp_path / "dist", cuda_env)
    wheel = only_wheel(tmp_path / "dist")
    log = proc.stdout + proc.stderr
    assert re.search(r"CUDA: nvcc \S*/site-packages/nvidia/cu13/bin/nvcc, host compiler \S+ \(wrapped\)", log), log
    assert "outside the policy's allow-list" not in log
    assert platform_tag(wheel) == TAG_2_17
    assert_auditwheel_agrees(wheel)
    result = run_project_tests(require_root(python311=True), wheel, PROJECTS / "cuda_cmake")
    assert result.returncode == 0, oldroot.describe(result)
