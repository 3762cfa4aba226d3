"""Run code in the foreign-architecture Debian roots that tools/crossroot.sh makes.

There is one root per manylinux architecture (aarch64, armv7l, ppc64le, s390x, i686), each
Debian bullseye (glibc 2.31, /usr/bin/python3.9) where a reachable mirror still has it, else
bookworm (glibc 2.36, python3.11; its marker says so, and `missing_reason` refuses it unless
asked not to).

Every architecture, i686 included, runs the same way: ``qemu-ARCH-static -L ROOT
ROOT/usr/bin/python3.9``, which itself needs neither root nor binfmt_misc. Under ``-L`` the
guest's absolute paths are looked up under ROOT first and on the host when ROOT lacks them
(tools/crossroot.sh makes the root's absolute symlinks relative, since qemu would resolve
their targets on the host), so:

* host paths work as they are: a wheel unpacked into a host temporary directory imports from
  PYTHONPATH, and a host working directory is the guest's (tests/integration/test_crossroot.py
  checks both);
* the root shadows the host wherever it has a path: the guest's /tmp is ROOT/tmp, /etc is
  ROOT/etc, so a host path that also exists in the root (say /usr/lib/...) means the root's;
* qemu does not follow execve: a program the guest starts runs natively, and the root's own
  programs fail to start (``[Errno 8] Exec format error``), unless binfmt_misc hands them to
  qemu. run_python registers each architecture's qemu with binfmt_misc when it can
  (``ensure_binfmt``; as root, mounting binfmt_misc if needed) and sets QEMU_LD_PREFIX, so that
  code under test can run ``sys.executable`` in a subprocess (example_project's tests do).
  execve paths are not looked up under ROOT: ``uname -m`` run from the guest is the host's
  (x86_64), and a host path that exists only in the root fails to start.

i686 could run natively, in a chroot like tests/oldroot.py, but that needs root and sees only
paths inside ROOT, and ``platform.machine()`` there is the kernel's x86_64 unless run under
``setarch i686``. qemu-i386-static gives i686 the same semantics as the other four (host paths,
no root) and says i686, as a 32-bit userland under linux32 does; it costs emulation: about 0.5 s
to start Python against 0.1 s natively.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from manywheel.arches import BY_NAME

# Kept in step with tools/crossroot.sh.
ROOT_MARKER = ".manywheel-complete"
ROOT_FORMAT = 1
SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "crossroot.sh"

# The root's programs see this environment, not the host's (no PYTHONPATH, PYTHONHOME,
# QEMU_* settings, pyenv, ...). User site-packages are off: under -L a missing ROOT/root would
# let the guest find the host's ~/.local.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONNOUSERSITE": "1",
}


class CrossArch(NamedTuple):
    """How one architecture is named by Debian, qemu and the GNU cross compilers."""

    name: str  # manylinux: "armv7l"
    debian: str  # "armhf"
    qemu: str  # "qemu-arm-static"
    triplet: str  # "arm-linux-gnueabihf": the prefix of Debian's cross gcc
    machine: str  # platform.machine() in the root under qemu: "armv7l"
    byteorder: str  # sys.byteorder: "little" or "big"


# The architectures tools/crossroot.sh makes roots for; their names come from manywheel's table.
ROOT_ARCHES = ("aarch64", "armv7l", "ppc64le", "s390x", "i686")
ARCHES: dict[str, CrossArch] = {
    name: CrossArch(a.name, a.debian, a.qemu, a.gnu, a.name, a.endian)
    for name, a in ((n, BY_NAME[n]) for n in ROOT_ARCHES)}


@dataclass(frozen=True)
class RootInfo:
    """What tools/crossroot.sh wrote in a root's marker."""

    arch: str
    suite: str  # "bullseye", or "bookworm" where no bullseye could be had
    glibc: tuple[int, int]
    python: str  # the root's interpreter, an absolute path inside the root


def _arch(arch: str) -> CrossArch:
    try:
        return ARCHES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}: one of {', '.join(ARCHES)}") from None


def default_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where tools/crossroot.sh puts the roots: $MWTEST_CROSSROOTS or the user cache."""
    env = os.environ if environ is None else environ
    given = env.get("MWTEST_CROSSROOTS")
    if given:
        return Path(given)
    return Path(env.get("HOME", str(Path.home()))) / ".cache/manywheel/cross-roots"


def _read_marker(root: Path) -> dict[str, str] | None:
    try:
        lines = (root / ROOT_MARKER).read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split("=", 1) for line in lines if "=" in line)
    return fields if fields.get("format") == str(ROOT_FORMAT) else None


def find_root(arch: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """arch's completed root, or None when tools/crossroot.sh has not finished making it."""
    root = default_dir(environ) / _arch(arch).name
    return root if _read_marker(root) is not None else None


def root_info(root: Path) -> RootInfo:
    """The suite, glibc and python of a root that find_root returned."""
    fields = _read_marker(root)
    if fields is None:
        raise FileNotFoundError(f"{root} is not a finished root of tools/crossroot.sh (no {ROOT_MARKER})")
    major, minor = fields["glibc"].split(".")
    return RootInfo(fields["arch"], fields["suite"], (int(major), int(minor)), fields["python"])


def missing_reason(arch: str, *, bullseye_only: bool = True) -> str | None:
    """Why tests cannot run code in arch's root (for pytest.skip), or None when they can.

    A bookworm root (where no bullseye was to be had) counts as missing unless bullseye_only
    is False: it proves code runs on the architecture, not on glibc 2.31 with Python 3.9.
    """
    spec = _arch(arch)
    root = find_root(arch)
    if root is None:
        return f"no {arch} root at {default_dir() / arch}: run tools/crossroot.sh {arch} (as root)"
    if shutil.which(spec.qemu) is None:
        return f"{spec.qemu} is not installed (Debian: apt-get install qemu-user-static)"
    info = root_info(root)
    if bullseye_only and info.suite != "bullseye":
        return (f"the {arch} root is {info.suite} (glibc {info.glibc[0]}.{info.glibc[1]}), not bullseye: "
                f"no mirror reachable from here has bullseye {spec.debian} (see tools/crossroot.sh)")
    return None


def python_command(arch: str, root: Path) -> list[str]:
    """The argv prefix that runs root's Python under arch's emulator."""
    qemu = shutil.which(_arch(arch).qemu)
    if qemu is None:
        raise FileNotFoundError(f"{_arch(arch).qemu} is not installed (Debian: qemu-user-static)")
    return [qemu, "-L", str(root), str(root) + root_info(root).python]


def install_wheel(wheel: Path, dest_dir: Path) -> Path:
    """Unzip wheel into dest_dir (made if missing), for PYTHONPATH; returns dest_dir.

    dest_dir may be anywhere on the host (see the module docstring) or under the root.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest_dir)
        # zipfile drops permission bits; keep the wheel's (executables, .so files).
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                (dest_dir / info.filename).chmod(mode)
    return dest_dir


def temp_dir_in_root(root: Path, prefix: str = "mw-") -> Path:
    """A fresh directory in root's /tmp (host path; the caller removes it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root / "tmp"))
    path.chmod(0o755)
    return path


def run_python(
    arch: str,
    args: list[str],
    *,
    pythonpath: Iterable[Path | str] = (),
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    root: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the root's Python with args under emulation; output captured as text, exit code
    not checked.

    The guest sees BASE_ENV plus env and PYTHONPATH (host paths work), never the host's
    environment. cwd defaults to the root itself, so that '' on sys.path finds nothing of
    the host's. root defaults to find_root(arch).
    """
    if root is None:
        root = find_root(arch)
        if root is None:
            raise FileNotFoundError(missing_reason(arch) or f"no {arch} root")
    # With binfmt_misc, the programs the guest starts (sys.executable in a subprocess) run under
    # qemu too, and find the root's loader and libraries through QEMU_LD_PREFIX.
    ensure_binfmt(arch)
    full_env = {**BASE_ENV, "QEMU_LD_PREFIX": str(root), **(env or {})}
    paths = [str(p) for p in pythonpath]
    if paths:
        full_env["PYTHONPATH"] = os.pathsep.join(paths)
    argv = [*python_command(arch, root), *args]
    out = subprocess.run(argv, cwd=cwd or root, env=full_env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    return subprocess.CompletedProcess(argv, out.returncode, out.stdout, out.stderr)


BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# The ELF header of a 32-bit x86 executable (Debian ships no qemu-i386 binfmt entry for amd64).
_I386_MAGIC = (r"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00",
               r"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff")


def ensure_binfmt(arch: str) -> str | None:
    """Let programs the guest starts run too: register arch's qemu with binfmt_misc (mounted
    first when it is not), as ``manywheel-qemu-<arch>`` with the F flag, so the kernel hands every
    executable of that architecture to qemu, which finds the root's loader through QEMU_LD_PREFIX
    (run_python sets it). Returns None when it is in place, else why not (not root, no
    binfmt_misc in this kernel or container). It stays registered: it is the same for every run,
    and the host has no programs of these architectures for it to change.
    """
    spec = _arch(arch)
    name = f"manywheel-{spec.qemu.removesuffix('-static')}"
    if (BINFMT_DIR / name).exists():
        return None
    qemu = shutil.which(spec.qemu)
    if qemu is None:
        return f"{spec.qemu} is not installed"
    if not (BINFMT_DIR / "register").exists():
        proc = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0 or not (BINFMT_DIR / "register").exists():
            return f"binfmt_misc cannot be mounted here: {(proc.stderr or proc.stdout).strip()}"
    conf = Path("/usr/lib/binfmt.d") / f"{spec.qemu.removesuffix('-static')}.conf"
    if arch == "i686":
        magic, mask = _I386_MAGIC
    else:
        try:
            fields = conf.read_text().strip().split(":")
        except OSError as e:
            return f"no binfmt entry for {spec.qemu} ({conf}: {e.strerror})"
        magic, mask = fields[4], fields[5]
    try:
        (BINFMT_DIR / "register").write_text(f":{name}:M::{magic}:{mask}:{qemu}:F\n")
    except OSError as e:
        if (BINFMT_DIR / name).exists():  # registered by a concurrent run
            return None
        return f"registering {spec.qemu} with binfmt_misc failed: {e.strerror or e}"
    return None


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A failure message: the command, its exit code and the tail of its output."""
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
    return f"`{shlex.join(result.args)}` under emulation exited {result.returncode}:\n{tail}"
