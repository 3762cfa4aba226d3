"""The pinned ABI baseline for (host toolchain, target, arch).

Generated once and cached, keyed on content: stub libraries whose default symbol
versions are the newest at or below the target (each symbol in the library that
held it at the target), ``lib*.so`` linker scripts so every ``-l`` finds them, the
shim archive, and a pinning header.  Entries are built in a temporary directory and
renamed into place, so concurrent builds never see a half-written entry and a
corrupt one is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from .. import __version__
from ..arches import TABLE
from ..errors import BaselineError
from ..files import default_cache_dir
from ..glibc.abi import AbiSymbol, GlibcAbi, load_abi
from ..glibc.shims import SHIMS, ShimBuildError, build_shim_archive, shims_for
from ..policy import LibcVersion, Policy, parse_version
from ..settings import Settings
from .compiler import Compiler, Compilers

FORMAT = 1  # bump when the layout of a cache entry changes
_GLIBC_LIBRARIES = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
                    "libanl.so.1", "libresolv.so.2")
# The stub libraries of each architecture manywheel builds for: glibc's libraries and its dynamic loader.
STUB_LIBRARIES = {a.name: _GLIBC_LIBRARIES + (a.loader,) for a in TABLE if a.buildable}
_SHIMS_DIR = Path(__file__).parents[1] / "glibc" / "shims"
Log = Callable[[str], None]


@dataclass
class Baseline:
    """What the toolchain adds to every compile and link (see toolchain.BaselineFlags)."""

    directory: Path
    target: Policy
    compile_flags: list[str] = field(default_factory=list)
    link_flags: list[str] = field(default_factory=list)
    link_flags_after: list[str] = field(default_factory=list)
    export_map: str = ""
    static_cxx: bool = True
    no_relr: bool = True
    summary: str = ""


def toolchain_glibc_version(compilers: Compilers) -> LibcVersion:
    """The glibc the C compiler builds against: the host's for a native build, else the
    version its headers say (a cross toolchain's C library, e.g. Debian's libc6-dev-arm64-cross)."""
    if not compilers.cross:
        return host_glibc_version()
    try:
        return compilers.cc.glibc_version()
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        raise BaselineError(f"cannot tell which glibc the compiler {compilers.cc.display} builds against ({e})",
                            hint=f"check that the cross compiler for {compilers.arch} and its C library are "
                                 f"installed (Debian: libc6-dev-*-cross comes with gcc-<triplet>)") from e


def host_glibc_version() -> LibcVersion:
    raw = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not raw.startswith("glibc "):
        raise BaselineError(f"this host's C library is not glibc ({raw or 'unknown'})",
                            hint="manylinux baselines can only be pinned on a glibc host; use pin = false")
    parts = [int(p) for p in raw.split()[1].split(".")[:2]]
    return LibcVersion(parts[0], parts[1])


def prepare_baseline(target: Policy | None, compilers: Compilers, settings: Settings, workdir: Path,
                     log: Log) -> Baseline | None:
    """Return the baseline for ``target`` and the compilers' architecture (generating or reusing
    the cache entry)."""
    arch, environ = compilers.arch, compilers.environ
    if target is None:
        log("target auto: no baseline to pin to; building with the host ABI and verifying")
        return None
    if target.family != "manylinux":
        raise BaselineError(f"target {target.name} is a musllinux policy; this host has glibc",
                            hint="choose a manylinux target, or build musllinux wheels on a musl host")
    if arch not in STUB_LIBRARIES:
        raise BaselineError(f"pinning is not implemented for {arch}", hint="set pin = false")
    cc = compilers.cc
    host = toolchain_glibc_version(compilers)
    wanted = target.libc_version
    if wanted > host:
        whose = "this host's glibc" if not compilers.cross else f"the {arch} cross toolchain's glibc"
        raise BaselineError(f"target {target.name} is newer than {whose} {host.major}.{host.minor}",
                            hint=f"choose a target up to manylinux_{host.major}_{host.minor}")
    key = _cache_key(cc, wanted, arch)
    started = time.perf_counter()
    entry, reused = _cached_entry(settings, environ, workdir, key,
                                  lambda d, final: _generate(d, final, cc, wanted, arch, host), log)
    took = time.perf_counter() - started
    log(f"baseline {target.name}_{arch} {'reused from cache' if reused else 'generated'} "
        f"in {took:.2f} s: {entry}")
    return _flags(entry, target, wanted, arch, settings, workdir)


def _cache_key(cc: Compiler, target: LibcVersion, arch: str) -> str:
    """Content key: host libc, compiler, ABI data, shim sources, target, arch, manywheel version.  A
    launcher in front of the compiler (ccache) makes no other baseline: it is left out."""
    h = hashlib.sha256()
    h.update(f"{FORMAT}|{__version__}|{arch}|{target.major}.{target.minor}|{' '.join(cc.without_launcher)}".encode())
    for name in ("libc.so.6", "libc_nonshared.a"):
        path = cc.print_file_name(name)
        h.update(path.encode())
        try:
            h.update(hashlib.sha256(Path(path).read_bytes()).digest())
        except OSError:
            h.update(b"missing")
    h.update(f"{cc.version}\n".encode())
    data_dir = Path(__file__).parents[1] / "glibc"
    for source in sorted(list((data_dir / "data").glob("*")) + list(_SHIMS_DIR.glob("*"))):
        if source.is_file():
            h.update(source.name.encode() + hashlib.sha256(source.read_bytes()).digest())
    return h.hexdigest()[:20]


def _cached_entry(settings: Settings, environ: Mapping[str, str], workdir: Path, key: str,
                  generate: Callable[[Path, Path], None], log: Log) -> tuple[Path, bool]:
    cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir(environ)
    root = cache / "baselines"
    final = root / key
    if _valid(final):
        return final, True
    try:
        return _generate_into_cache(root, final, key, generate, log), False
    except (OSError, BaselineError) as e:  # unwritable, full, or not a directory: this build still works
        log(f"warning: cannot write the cache {root} ({_why_unwritable(root, e)}); generating the baseline "
            f"for this build only (set cache-dir / MANYWHEEL_CACHE_DIR to a writable directory to reuse it)")
    local = workdir / key
    shutil.rmtree(local, ignore_errors=True)
    local.mkdir(parents=True)
    try:
        generate(local, local)
    except OSError as e:
        raise BaselineError(f"cannot write the baseline into {local}: {e.strerror or e}",
                            hint="free space in the temporary directory (TMPDIR) or the cache directory") from e
    return local, False


def _why_unwritable(root: Path, error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    try:
        if shutil.disk_usage(next(p for p in (root, *root.parents) if p.exists())).free < 64 << 20:
            return "No space left on device"
    except (OSError, StopIteration):
        pass
    return str(error).splitlines()[0]


def _generate_into_cache(root: Path, final: Path, key: str, generate: Callable[[Path, Path], None], log: Log) -> Path:
    """Generate in a temporary sibling and rename it into place; a concurrent winner is reused."""
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=root))
    try:
        generate(tmp, final)
        if final.exists() and not _valid(final):
            broken = root / f".broken-{key}-{os.getpid()}"
            log(f"cache entry {final} is incomplete or corrupt: rebuilding it")
            os.rename(final, broken)
            shutil.rmtree(broken, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not _valid(final):  # lost a race against a writer whose entry is broken
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another build finished first: use its entry
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _remove_stale(root: Path, age: float = 3600.0) -> None:
    """Remove temporary entries that a killed build left behind (never a live one: they are young)."""
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith((".tmp-", ".broken-"))]
    except OSError:
        return
    now = time.time()
    for path in candidates:
        try:
            if now - path.stat().st_mtime > age:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _valid(entry: Path) -> bool:
    try:
        manifest = json.loads((entry / "manifest.json").read_text())
        return all((entry / name).stat().st_size == size for name, size in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _generate(out: Path, final: Path, cc: Compiler, target: LibcVersion, arch: str, newest: LibcVersion) -> None:
    """Write the entry into ``out``; paths inside linker scripts name ``final``, where it will live."""
    abi = load_abi(arch)
    stubs = out / "lib"
    stubs.mkdir()
    by_lib = abi.symbols_at(target)
    libraries = STUB_LIBRARIES[arch]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        jobs = [pool.submit(_make_stub, cc.command, stubs, lib, by_lib.get(lib, []), out) for lib in libraries]
        try:
            shims = build_shim_archive(cc.command, cc.ar, out / "shims", (target.major, target.minor), arch, ["-O2"])
        except ShimBuildError as e:
            raise BaselineError(f"compiling manywheel's glibc shims failed: {e}",
                                hint="check that the C compiler works (CC) and report this as a manywheel bug") from e
        for job in jobs:
            job.result()
    shutil.move(str(shims), stubs / "libmanywheel_shims.a")
    _write_linker_scripts(cc, stubs, final / "lib", libraries)
    (out / "pins.h").write_text(make_pin_header(abi, target, arch, newest))
    files = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    (out / "manifest.json").write_text(json.dumps({"format": FORMAT, "files": files}, indent=1))


def _make_stub(cc: list[str], stubs: Path, soname: str, symbols: list[AbiSymbol], out: Path) -> None:
    """One stub library: a dummy definition per (symbol, version), the newest the default."""
    src_dir = out / "src"
    src_dir.mkdir(exist_ok=True)
    newest: dict[str, AbiSymbol] = {}
    for sym in symbols:
        if sym.name not in newest or sym.glibc_version > newest[sym.name].glibc_version:
            newest[sym.name] = sym
    asm = [".text"]
    nodes: dict[str, list[str]] = {}
    for i, sym in enumerate(sorted(symbols, key=lambda s: (s.name, s.glibc_version))):
        local = f"__mw_stub_{i}"
        bind = ".weak" if sym.weak else ".globl"
        if sym.is_function:
            asm += [".text", f"{bind} {local}", f".type {local},%function", f"{local}:", ".byte 0"]
        else:
            size = max(sym.size, 1)
            asm += [".data", f"{bind} {local}", f".type {local},%object", f".size {local},{size}",
                    f"{local}:", f".zero {size}"]
        at = "@@" if newest[sym.name] is sym else "@"
        asm.append(f".symver {local},{sym.name}{at}{sym.version}")
        nodes.setdefault(sym.version, []).append(sym.name)
    stem = soname.replace(".", "_")
    (src_dir / f"{stem}.s").write_text("\n".join(asm) + "\n")
    ordered = sorted(nodes, key=parse_version)
    script = []
    for j, version in enumerate(ordered):
        names = "".join(f" {n};" for n in sorted(set(nodes[version])))
        local = " local: *;" if j == 0 else ""
        parent = f" {ordered[j - 1]}" if j else ""
        script.append(f"{version} {{ global:{names}{local} }}{parent};")
    (src_dir / f"{stem}.map").write_text("\n".join(script) + "\n")
    cmd = cc + ["-shared", "-nostdlib", "-fPIC", "-o", str(stubs / soname), str(src_dir / f"{stem}.s"),
                f"-Wl,--version-script={src_dir / f'{stem}.map'}", f"-Wl,-soname,{soname}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BaselineError(f"making the stub {soname} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                            + proc.stderr[-2000:], hint="report this as a manywheel bug with the output above")


def _write_linker_scripts(cc: Compiler, stubs: Path, final: Path, libraries: tuple[str, ...]) -> None:
    """``libX.so`` scripts so ``-lX`` finds the stubs; libc's pulls in the rest as needed."""
    nonshared = cc.print_file_name("libc_nonshared.a")
    loader = next(lib for lib in libraries if lib not in _GLIBC_LIBRARIES)  # ld-linux*.so.N, ld64.so.N
    others = [lib for lib in libraries if lib not in ("libc.so.6",)]
    as_needed = " ".join(str(final / lib) for lib in others)
    group = [str(final / "libmanywheel_shims.a"), str(final / "libc.so.6")]
    if os.path.isabs(nonshared) and os.path.exists(nonshared):
        group.append(nonshared)
    (stubs / "libc.so").write_text(
        "/* manywheel: the target's libc, then shims, host libc_nonshared, and the rest as needed */\n"
        f"GROUP ( {' '.join(group)} AS_NEEDED ( {as_needed} ) )\n")
    for lib in others:
        if lib == loader:
            continue
        base = lib.split(".so")[0]
        (stubs / f"{base}.so").write_text(f"INPUT ( {final / lib} )\n")


def make_pin_header(abi: GlibcAbi, target: LibcVersion, arch: str, newest: LibcVersion) -> str:
    """``.symver`` lines binding each function whose default at ``newest`` (the glibc the compiler
    builds against: the host's, or a cross toolchain's) is newer to its target default.

    Unused lines add nothing to an object; used ones pin its reference even if some
    link bypasses the stub libraries.
    """
    host = newest
    lines = [
        "/* Generated by manywheel: pins glibc symbol versions to the target. Do not edit. */",
        "#ifndef MANYWHEEL_PINS_H",
        "#define MANYWHEEL_PINS_H",
        f"#define MANYWHEEL_TARGET_GLIBC_MAJOR {target.major}",
        f"#define MANYWHEEL_TARGET_GLIBC_MINOR {target.minor}",
        "#if !defined(__ASSEMBLER__)",
    ]
    shimmed = {s for shim in shims_for((target.major, target.minor), arch) for s in shim.symbols}
    names = {s.name for syms in abi.symbols_at(host).values() for s in syms}
    for name in sorted(names):
        if name in shimmed:
            continue
        at_target = abi.default_version(name, target)
        at_host = abi.default_version(name, host)
        if at_target is None or at_host is None or at_target.version == at_host.version or not at_target.is_function:
            continue
        lines.append(f'__asm__(".symver {name},{name}@{at_target.version}");')
    lines += ["#endif", "#endif", ""]
    return "\n".join(lines)


def _flags(entry: Path, target: Policy, wanted: LibcVersion, arch: str, settings: Settings, workdir: Path) -> Baseline:
    stubs = entry / "lib"
    workdir.mkdir(parents=True, exist_ok=True)
    export_map = workdir / "exports.map"
    names = "".join(f" {n};" for n in ("PyInit_*",) + tuple(settings.exports))
    export_map.write_text(f"{{ global:{names} local: *; }};\n")
    wraps = [w for shim in shims_for((wanted.major, wanted.minor), arch) for w in shim.wrap]
    link = [f"-L{stubs}", "-static-libgcc", "-static-libstdc++"]
    link += [f"-Wl,--wrap={w}" for w in wraps]
    return Baseline(
        directory=entry,
        target=target,
        compile_flags=["-include", str(entry / "pins.h")],
        link_flags=link,
        # Always record libc.so.6 as NEEDED: auditwheel cannot tell the libc of a module without it.
        # noexecstack last, so it wins over an -z execstack of the project's.
        link_flags_after=["-Wl,--push-state,--no-as-needed", "-lc", "-Wl,--pop-state", "-Wl,-z,noexecstack"],
        export_map=str(export_map),
        static_cxx=True,
        no_relr=wanted < LibcVersion(2, 36),
        summary=f"pinned to glibc {wanted.major}.{wanted.minor} ({target.name}_{arch}): stub libraries, "
                f"{len(shims_for((wanted.major, wanted.minor), arch))} shims, static libstdc++/libgcc, export map",
    )


__all__ = ["Baseline", "prepare_baseline", "make_pin_header", "default_cache_dir", "SHIMS"]
