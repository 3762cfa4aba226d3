"""Run code inside the older-glibc root that tools/oldroot.sh makes (Debian bullseye).

The root has glibc 2.31 and Python 3.9 (/usr/bin/python3); made with --python311 it also
has /usr/local/bin/python3.11. Everything here needs root, as chroot does. Nothing in the
root needs /proc or /dev mounted for Python imports, so nothing is mounted unless a caller
asks for /proc (run_in_root(mount_proc=True): psutil reads it), and then only in a private
mount namespace that ends with the command.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

# Kept in step with tools/oldroot.sh.
ROOT_MARKER = ".manywheel-complete"
ROOT_FORMAT = 1
PY311_MARKER = ".manywheel-python311-complete"
PY311_FORMAT = 1
PYTHON39 = "/usr/bin/python3"
PYTHON311 = "/usr/local/bin/python3.11"
SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "oldroot.sh"

# The root's programs see this environment, not the host's (no PYTHONPATH, pyenv, ...).
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
}


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where tools/oldroot.sh puts the root: $MWTEST_OLDROOT or the user cache."""
    env = os.environ if environ is None else environ
    given = env.get("MWTEST_OLDROOT")
    if given:
        return Path(given)
    return Path(env.get("HOME", str(Path.home()))) / ".cache/manywheel/bullseye-root"


def _marker_ok(path: Path, fmt: int) -> bool:
    try:
        first = path.read_text().splitlines()[0]
    except (OSError, IndexError):
        return False
    return first == f"format={fmt}"


def find_root(environ: Mapping[str, str] | None = None) -> Path | None:
    """The completed root, or None when tools/oldroot.sh has not finished making it."""
    root = default_root(environ)
    return root if _marker_ok(root / ROOT_MARKER, ROOT_FORMAT) else None


def has_python311(root: Path) -> bool:
    """Whether `tools/oldroot.sh --python311` has finished building python3.11 in root."""
    return _marker_ok(root / PY311_MARKER, PY311_FORMAT)


def missing_reason(*, python311: bool = False) -> str | None:
    """Why tests cannot use the root (for pytest.skip), or None when they can."""
    root = default_root()
    if find_root() is None:
        return f"no older-glibc root at {root}: run tools/oldroot.sh (as root)"
    if python311 and not has_python311(root):
        return f"no python3.11 in {root}: run tools/oldroot.sh --python311"
    if os.geteuid() != 0:
        return "chroot into the older-glibc root needs root"
    return None


def _chroot(
    root: Path, argv: list[str], env: Mapping[str, str] | None, timeout: float, mount_proc: bool = False
) -> subprocess.CompletedProcess[str]:
    # chroot passes its environment on: the root sees only BASE_ENV and env.
    command = ["chroot", str(root), *argv]
    if mount_proc:
        script = 'r=$1; shift; mount -t proc proc "$r/proc" && exec chroot "$r" "$@"'
        command = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", str(root), *argv]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**BASE_ENV, **(env or {})},
    )


def glibc_version(root: Path) -> tuple[int, int]:
    """The root's glibc version, as (major, minor)."""
    out = _chroot(root, ["getconf", "GNU_LIBC_VERSION"], None, 60)
    if out.returncode != 0:
        raise OSError(f"getconf GNU_LIBC_VERSION failed in {root}: {out.stderr.strip()}")
    # "glibc 2.31"
    major, minor = out.stdout.split()[-1].split(".")[:2]
    return int(major), int(minor)


def _new_dir_in_root(root: Path, prefix: str) -> tuple[Path, str]:
    host = Path(tempfile.mkdtemp(prefix=prefix, dir=root / "tmp"))
    host.chmod(0o755)
    return host, "/tmp/" + host.name


def _copy_in(copy_in: Mapping[Path, str], dest: Path) -> None:
    for src, name in copy_in.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ValueError(f"copy_in name must be relative and stay inside: {name!r}")
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True)
        else:
            shutil.copy2(src, target)


def run_in_root(
    root: Path,
    argv: list[str],
    *,
    copy_in: Mapping[Path, str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    mount_proc: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run argv inside root, in a fresh directory holding copies of copy_in (with /proc
    mounted for the command alone when mount_proc).

    copy_in maps host files or directories to names relative to that directory. The
    command runs with BASE_ENV plus env (not the host's environment); its output is
    captured as text, and the directory is removed afterwards. The exit code is not
    checked. The returned args are the in-root argv, for messages.
    """
    host_dir, inroot_dir = _new_dir_in_root(root, "mw-run-")
    try:
        _copy_in(copy_in or {}, host_dir)
        script = 'cd "$1" && shift && exec "$@"'
        out = _chroot(root, ["/bin/sh", "-c", script, "sh", inroot_dir, *argv], env, timeout, mount_proc)
        return subprocess.CompletedProcess(argv, out.returncode, out.stdout, out.stderr)
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


def unpack_wheel_into(root: Path, wheel: Path) -> str:
    """Unzip wheel into a fresh directory in root; return its in-root path (for PYTHONPATH).

    The caller removes it with remove_from_root, or uses unpacked_wheel instead.
    """
    host_dir, inroot_dir = _new_dir_in_root(root, "mw-wheel-")
    try:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(host_dir)
            # zipfile drops permission bits; keep the wheel's (executables, .so files).
            for info in zf.infolist():
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    (host_dir / info.filename).chmod(mode)
    except BaseException:
        shutil.rmtree(host_dir, ignore_errors=True)
        raise
    return inroot_dir


def remove_from_root(root: Path, inroot_path: str) -> None:
    """Remove a directory that unpack_wheel_into made."""
    parts = Path(inroot_path).parts
    if len(parts) != 3 or parts[:2] != ("/", "tmp"):
        raise ValueError(f"not a directory made in the root's /tmp: {inroot_path!r}")
    shutil.rmtree(root / "tmp" / parts[2], ignore_errors=True)


@contextlib.contextmanager
def unpacked_wheel(root: Path, wheel: Path) -> Iterator[str]:
    """unpack_wheel_into as a context manager that removes the directory on exit."""
    inroot = unpack_wheel_into(root, wheel)
    try:
        yield inroot
    finally:
        remove_from_root(root, inroot)


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A failure message: the command, its exit code and the tail of its output."""
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
    return f"`{shlex.join(result.args)}` in the old root exited {result.returncode}:\n{tail}"
