"""One wheel's test, in the root where it must run.

The root's Python gets a fresh environment of its own: a new directory on PYTHONPATH (user
site-packages off) into which the host's pip installs the wheel, its dependencies and
``test-requires`` for the root's platform and Python (``pip install --target --platform
--python-version --only-binary :all:``).  So the root needs no pip and no venv (Debian's minimal
roots have neither); ``python`` on PATH is the root's, and console scripts (pytest) run with it.
The x86_64 root is entered with chroot; foreign ones run under qemu-user with ``-L ROOT``, the
command itself in the host's shell.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, TextIO

from .identifiers import Identifier
from .interpreters import Interpreter
from .roots import PlaceOfTest

ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NOT_COPIED = shutil.ignore_patterns(".git", ".hg", "build", "dist", "wheelhouse", "*.egg-info", "__pycache__",
                                     ".tox", ".nox", ".venv", "*.so")
# The most compatible manylinux tags, with their legacy aliases, for pip's --platform.
_LEGACY = {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}


@dataclass(frozen=True)
class TestSpec:
    """What every wheel's test runs: cibuildwheel's test keys."""

    __test__ = False  # not a pytest class
    command: str
    requires: tuple[str, ...]
    extras: tuple[str, ...]
    sources: tuple[str, ...]
    project: Path


@dataclass(frozen=True)
class Outcome:
    state: str  # "ok", "failed" or "not run"
    detail: str
    seconds: float


def platform_tags(arch: str, glibc: tuple[int, int]) -> list[str]:
    """The manylinux platform tags a root of that glibc runs, newest first."""
    tags = []
    for minor in range(glibc[1], 4, -1):
        tags.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
        if (glibc[0], minor) in _LEGACY:
            tags.append(f"{_LEGACY[(glibc[0], minor)]}_{arch}")
    return tags


def _pip_install(wheel: Path, site: Path, ident: Identifier, place: PlaceOfTest, interpreter: Interpreter,
                 spec: TestSpec, environ: Mapping[str, str], log: TextIO) -> int:
    assert place.root is not None
    py = ident.python
    target = f"{wheel}[{','.join(spec.extras)}]" if spec.extras else str(wheel)
    argv = [interpreter.path, "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--target",
            str(site), "--only-binary", ":all:", "--python-version", f"{py.major}.{py.minor}", "--implementation", "cp",
            "--abi", py.tag, "--abi", "abi3", "--abi", "none",
            *(f"--platform={t}" for t in platform_tags(ident.arch, place.root.glibc)), target, *spec.requires]
    return run_logged(argv, log, env=dict(environ), cwd=site.parent)


def run_logged(argv: list[str], log: TextIO, *, env: Mapping[str, str], cwd: Path, timeout: float = 3600) -> int:
    log.write(f"$ {shlex.join(argv)}\n")
    log.flush()
    try:
        return subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(env), cwd=cwd, timeout=timeout,
                              check=False).returncode
    except subprocess.TimeoutExpired:
        log.write(f"timed out after {timeout:.0f} s\n")
        return 124


def _python_launchers(stage: Path, guest: str, place: PlaceOfTest) -> None:
    """stage/bin: ``python``/``python3`` (the root's), and each console script pip wrote, run with it."""
    assert place.root is not None
    bin_dir = stage / "bin"
    bin_dir.mkdir()
    if place.emulator:
        launcher = f'#!/bin/sh\nexec {shlex.quote(place.emulator)} -L {shlex.quote(str(place.root.path))} ' \
                   f'{shlex.quote(str(place.root.path) + place.python)} "$@"\n'
        for name in ("python", "python3"):
            (bin_dir / name).write_text(launcher)
            (bin_dir / name).chmod(0o755)
    else:
        for name in ("python", "python3"):
            (bin_dir / name).symlink_to(place.python)
    for script in sorted((stage / "site" / "bin").glob("*")) if (stage / "site" / "bin").is_dir() else []:
        with open(script, "rb") as f:
            first = f.readline()
        if first.startswith(b"#!") and b"python" in first and not (bin_dir / script.name).exists():
            (bin_dir / script.name).write_text(f'#!/bin/sh\nexec "{guest}/bin/python" "{guest}/site/bin/{script.name}" "$@"\n')
            (bin_dir / script.name).chmod(0o755)


def _stage_sources(stage: Path, spec: TestSpec, copy_project: bool) -> None:
    work = stage / "work"
    work.mkdir()
    for rel in spec.sources:
        src = spec.project / rel
        if src.is_dir():
            shutil.copytree(src, work / rel, ignore=_NOT_COPIED)
        elif src.exists():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / rel)
    if copy_project:
        shutil.copytree(spec.project, stage / "project", ignore=_NOT_COPIED, symlinks=True)


def _command_argv(place: PlaceOfTest, command: str, guest: str) -> tuple[list[str], dict[str, str], Path]:
    assert place.root is not None
    env = {"PATH": f"{guest}/bin:{ROOT_PATH}", "HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "PYTHONPATH": f"{guest}/site", "PYTHONNOUSERSITE": "1"}
    if place.emulator:
        env["QEMU_LD_PREFIX"] = str(place.root.path)
        return ["/bin/sh", "-c", command], env, Path(guest) / "work"
    script = 'cd "$1" && exec /bin/sh -c "$2"'
    return ["chroot", str(place.root.path), "/bin/sh", "-c", script, "sh", f"{guest}/work", command], env, Path("/")


def run_test(wheel: Path, ident: Identifier, place: PlaceOfTest, interpreter: Interpreter, spec: TestSpec,
             environ: Mapping[str, str], log: TextIO) -> Outcome:
    """Install the wheel in a fresh environment of the root's Python and run the test command."""
    start = time.monotonic()
    if place.root is None:
        return Outcome("not run", place.reason, 0.0)
    if not interpreter.has_pip:
        return Outcome("not run", f"{interpreter.path} has no pip to install the wheel for the root", 0.0)
    (place.root.path / "tmp").mkdir(exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix="mw-wheels-", dir=place.root.path / "tmp"))
    try:
        stage.chmod(0o755)
        guest = str(stage) if place.emulator else f"/tmp/{stage.name}"
        log.write(f"\n--- test of {wheel.name} in the {place.root.describe()}, {place.python}\n")
        if _pip_install(wheel, stage / "site", ident, place, interpreter, spec, environ, log) != 0:
            return Outcome("failed", "installing the wheel and test-requires failed", time.monotonic() - start)
        uses_project = "{project}" in spec.command or "{package}" in spec.command
        _stage_sources(stage, spec, uses_project and not place.emulator)
        _python_launchers(stage, guest, place)
        project = str(spec.project) if place.emulator else f"{guest}/project"
        command = spec.command.replace("{project}", project).replace("{package}", project)
        argv, env, cwd = _command_argv(place, command, guest)
        code = run_logged(argv, log, env=env, cwd=cwd)
        seconds = time.monotonic() - start
        return Outcome("ok", "", seconds) if code == 0 else Outcome("failed", f"test-command exited {code}", seconds)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
