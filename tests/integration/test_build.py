"""Real PEP 517 builds with python -m build and pip wheel, judged independently by auditwheel."""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

from manywheel.glibc.abi import load_abi

from tests.common import EXAMPLE, PROJECTS, copy_project, run, tree_digest
from tests.integration.helpers import (assert_auditwheel_agrees, elf_members, only_wheel, pip_wheel,
                                       platform_tag, python_build)

pytestmark = pytest.mark.slow
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"


def test_example_project_is_a_verified_manylinux_2_17_wheel(tmp_path: Path, build_env: dict[str, str]) -> None:
    proc = python_build(copy_project(EXAMPLE, tmp_path), tmp_path / "dist", build_env)
    wheel = only_wheel(tmp_path / "dist")
    assert platform_tag(wheel) == TAG_2_17
    assert len(elf_members(wheel)) == 2
    assert "manywheel: toolchain: " in proc.stderr and "manywheel: wrote " in proc.stderr
    assert assert_auditwheel_agrees(wheel) == "manylinux_2_17_x86_64"
    check = run([sys.executable, "-m", "manywheel", "check", "--json", str(wheel)])
    assert json.loads(check.stdout)[0]["verdict"] == TAG_2_17
    # Every versioned glibc reference exists in glibc 2.17 according to the ABI record.
    abi = load_abi("x86_64")
    from manywheel.check.scan import facts_of_path
    for facts in facts_of_path(wheel):
        for ref in facts.versioned_refs:
            if ref.version.startswith("GLIBC_"):
                assert abi.exists(ref.name, ref.version), f"{ref.name}@{ref.version}"
                assert tuple(int(x) for x in ref.version[6:].split(".")[:2]) <= (2, 17)


def test_setuptools_is_asked_for_only_when_needed(tmp_path: Path, build_env: dict[str, str]) -> None:
    """setuptools is not a dependency of manywheel. A project that lists it (example_project) gets
    get_requires_for_build_wheel's answer without setuptools running setup.py; one that does not
    (c_simple) is told to install it; one whose setup.py passes setup_requires gets setuptools' own answer."""
    listed = python_build(copy_project(EXAMPLE, tmp_path / "listed"), tmp_path / "d1", build_env,
                          "-C", "manywheel.verbose=true")
    assert "get_requires_for_build_wheel: nothing (no setup_requires in setup.py, setup.cfg" in listed.stderr
    assert (listed.stdout + listed.stderr).count("Installing packages in isolated environment") == 1

    unlisted = python_build(copy_project(PROJECTS / "c_simple", tmp_path / "unlisted"), tmp_path / "d2", build_env)
    assert "get_requires_for_build_wheel: ['setuptools>=64'] (the inner backend setuptools.build_meta needs " \
           "setuptools, which this build environment lacks" in unlisted.stderr
    assert (unlisted.stdout + unlisted.stderr).count("Installing packages in isolated environment") == 2
    assert platform_tag(only_wheel(tmp_path / "d2")) == TAG_2_17

    project = copy_project(PROJECTS / "c_simple", tmp_path / "setup_requires")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('requires = ["manywheel"]',
                                                       'requires = ["manywheel", "setuptools>=70.1"]'))
    setup_py = project / "setup.py"
    setup_py.write_text(setup_py.read_text().replace("setup(ext_modules", 'setup(setup_requires=["tomli"], ext_modules'))
    asked = python_build(project, tmp_path / "d3", build_env, "-C", "manywheel.verbose=true")
    assert "get_requires_for_build_wheel:" not in asked.stderr
    assert (asked.stdout + asked.stderr).count("Installing packages in isolated environment") == 2
    assert "- tomli" in asked.stdout + asked.stderr


def test_unmet_target_lists_every_symbol_and_writes_nothing(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    proc = python_build(copy_project(EXAMPLE, tmp_path), out, build_env, "-C", "manywheel.pin=false", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    for expected in ["violations of manylinux_2_17_x86_64", "mw_example/_cext.cpython-",
                     "getrandom@GLIBC_2.25 (libc.so.6)", "pthread_create@GLIBC_2.34 (libc.so.6)",
                     "fcntl64@GLIBC_2.28 (libc.so.6)", "pow@GLIBC_2.29 (libm.so.6)", "accepted by manylinux_2_34",
                     "hint:"]:
        assert expected in err, expected
    assert "Traceback" not in err
    assert not list(out.glob("*.whl")) if out.exists() else True


def test_auto_target_without_pinning_writes_the_verdict(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    python_build(copy_project(EXAMPLE, tmp_path), out, build_env, "-C", "manywheel.pin=false",
                 "-C", "manywheel.target=auto")
    wheel = only_wheel(out)
    assert platform_tag(wheel) == "manylinux_2_34_x86_64"
    assert assert_auditwheel_agrees(wheel) == "manylinux_2_34_x86_64"


@pytest.mark.parametrize("project, tag", [
    ("c_simple", TAG_2_17),
    ("cpp_simple", TAG_2_17),
    ("abi3", TAG_2_17),
    ("intree_backend", TAG_2_17),
])
def test_sample_projects_with_pip_wheel(tmp_path: Path, build_env: dict[str, str], project: str, tag: str) -> None:
    out = tmp_path / "dist"
    proc = pip_wheel(copy_project(PROJECTS / project, tmp_path), out, build_env, "-v")
    wheel = only_wheel(out)
    assert platform_tag(wheel) == tag
    if project == "abi3":
        assert "-cp39-abi3-" in wheel.name
    if project == "intree_backend":
        assert "mybackend" in proc.stdout + proc.stderr
    assert_auditwheel_agrees(wheel)


def test_pure_python_passes_through(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    python_build(copy_project(PROJECTS / "pure_python", tmp_path), out, build_env)
    assert only_wheel(out).name.endswith("-py3-none-any.whl")


# A cross build too: the target's Python headers live in each build's temporary directory.  The
# second build's isolated environment gets the bytecode the first compiled (manywheel.inner.bytecode),
# and that changes nothing in the wheel.
@pytest.mark.parametrize("args", [[], ["-C", "manywheel.arch=aarch64"]], ids=["native", "cross-aarch64"])
def test_source_date_epoch_gives_identical_wheels(tmp_path: Path, build_env: dict[str, str], args: list[str]) -> None:
    # A cache of its own: the first build compiles the bytecode, whatever ran before.
    env = dict(build_env, SOURCE_DATE_EPOCH="1700000000", MANYWHEEL_VERBOSE="true",
               MANYWHEEL_CACHE_DIR=str(tmp_path / "own-cache"))
    digests, logs = [], []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        project = copy_project(EXAMPLE, tmp_path / name)
        proc = python_build(project, tmp_path / name / "dist", env, *args)
        logs.append(proc.stdout + proc.stderr)
        digests.append(hashlib.sha256(only_wheel(tmp_path / name / "dist").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    assert re.search(r"bytecode: compiled \d+ modules of the build environment once", logs[0])
    assert re.search(r"bytecode: \d+ modules of manywheel-\S+, setuptools-\S+ from the cache", logs[1])


@pytest.mark.parametrize("table, messages", [
    ('[tool.manywheel]\ntargte = "manylinux_2_17"\n', ["unknown key 'targte'", "did you mean 'target'?"]),
    ('[tool.manywheel]\ntarget = "manylinux_2_99"\n', ["no manylinux policy for glibc/musl 2.99", "valid targets"]),
    ('[tool.manywheel]\ninner-backend = "no_such_backend"\n', ["cannot import the inner backend 'no_such_backend'"]),
])
def test_configuration_errors_are_clear(tmp_path: Path, build_env: dict[str, str], table: str,
                                        messages: list[str]) -> None:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n" + table)
    before = tree_digest(project)
    proc = python_build(project, tmp_path / "dist", build_env, check=False)
    assert proc.returncode != 0
    for message in messages:
        assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.whl"))
    assert tree_digest(project) == before

