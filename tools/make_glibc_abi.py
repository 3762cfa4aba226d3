#!/usr/bin/env python3
"""Generate manywheel's glibc ABI record (src/manywheel/glibc/data/glibc-abi-<arch>.json.gz).

The record says, per architecture, every public (symbol, version) pair of the glibc
libraries a manylinux wheel may link (libc, libm, libpthread, libdl, librt, libutil,
libanl, libresolv and the dynamic loader), whether it is a function or an object (and
the object's size), whether it is bound weak, and in which library it lived during which
range of glibc releases.  The stub generator needs the last part to put the symbols that
moved into libc.so.6 in glibc 2.34 (pthread_create@GLIBC_2.2.5 and 246 more pairs on
x86_64) back into the library that held them at an older target.

Sources (facts only; no code was copied):

1. The ``abilists`` file that the PyPI package ``ziglang`` ships at
   ``ziglang/lib/libc/glibc/abilists`` (MIT, made by zig's libc-abi-tools from glibc's
   own ``*.abilist`` files).  Its binary format, as documented in that project's README:
   all integers little-endian; ``u8`` count of libraries, each a NUL-terminated name
   ("c", "m", ...); ``u8`` count of versions, each three ``u8`` (major, minor, patch),
   ascending; ``u8`` count of targets, each a NUL-terminated triple; then a function
   section, an object section and (in newer files) a TLS section.  Each section is a
   ``u16`` inclusion count followed by inclusions: the symbol name (NUL-terminated, only
   before the first inclusion of a symbol), a ULEB128 target bit set, for objects and TLS
   a ULEB128 size, a ``u8`` library index (bit 7: last inclusion of this symbol, bit 6:
   weak, bit 5: unversioned) and version indices (``u8``, bit 7 marks the last).
   Zig's consolidation records a (symbol, version) only from glibc 2.23's lists or from
   the lists of the release that introduced the version, so every pair sits in the
   library that held it when it was introduced (or in 2.23): pthread_create@GLIBC_2.2.5
   is in libpthread, and nothing says it moved to libc in 2.34.  The file has no libanl
   at all, and its weak/unversioned bits are all zero.
2. Real glibc libraries, read here with pyelftools: a Debian bullseye root (glibc 2.31,
   made by manywheel's own root script) and this Debian bookworm host (glibc 2.36).  They
   fix what zig cannot say: libanl, weak binding, and the library membership at 2.31 and
   2.36.  Any change seen between two observations is dated at the later one, except the
   changes of glibc 2.34 (libpthread, libdl, librt, libutil and libanl merged into libc,
   with placeholder symbols keeping their version nodes; part of libresolv moved into
   libc; malloc_get_state/malloc_set_state left libc for libc_malloc_debug.so), which are
   dated 2.34 as its release notes say.  Only x86_64 has real libraries here; the other
   architectures get the same changes carried over by symbol name (see ``carry_events``).

Usage (the default paths are where ``pip download`` and manywheel's root script put them)::

    pip download --no-deps ziglang==0.17.1 -d /tmp/zig --only-binary=:all: \\
        --platform manylinux_2_12_x86_64
    pip download --no-deps ziglang==0.15.2 -d /tmp/zig --only-binary=:all: \\
        --platform manylinux_2_12_x86_64        # for ppc64, which 0.17 dropped
    python tools/make_glibc_abi.py --zig-wheel /tmp/zig/ziglang-0.17.1-*.whl \\
        --zig-wheel /tmp/zig/ziglang-0.15.2-*.whl \\
        --old-root ~/.cache/manywheel/bullseye-root --new-root /

The output is deterministic for the same inputs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

Version = tuple[int, int, int]
Key = tuple[str, Version, str]  # (symbol, version, short library name)

FORMAT = "manywheel-glibc-abi/1"
ABILISTS_MEMBER = "ziglang/lib/libc/glibc/abilists"
R2_34: Version = (2, 34, 0)
EMPTIED_IN_2_34 = ("pthread", "dl", "rt", "util", "anl")
# malloc debugging moved to libc_malloc_debug.so in 2.34 (glibc 2.34 NEWS).
REMOVED_IN_2_34 = {("malloc_get_state", "c"), ("malloc_set_state", "c")}

# manylinux arch -> (zig target triple, dynamic loader soname)
ARCHES: dict[str, tuple[str, str]] = {
    "x86_64": ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
    "i686": ("x86-linux-gnu", "ld-linux.so.2"),
    "aarch64": ("aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
    "armv7l": ("arm-linux-gnueabihf", "ld-linux-armhf.so.3"),
    "ppc64le": ("powerpc64le-linux-gnu", "ld64.so.2"),
    "ppc64": ("powerpc64-linux-gnu", "ld64.so.1"),
    "s390x": ("s390x-linux-gnu", "ld64.so.1"),
    "riscv64": ("riscv64-linux-gnu", "ld-linux-riscv64-lp64d.so.1"),
    "loongarch64": ("loongarch64-linux-gnu", "ld-linux-loongarch-lp64d.so.1"),
}
SONAMES = {
    "c": "libc.so.6",
    "m": "libm.so.6",
    "pthread": "libpthread.so.0",
    "dl": "libdl.so.2",
    "rt": "librt.so.1",
    "util": "libutil.so.1",
    "anl": "libanl.so.1",
    "resolv": "libresolv.so.2",
    "ld": "",  # per arch, see ARCHES
}
LIB_ORDER = ("c", "m", "pthread", "dl", "rt", "util", "anl", "resolv", "ld")
HOST_ARCH = "x86_64"
HOST_LIBDIR = "lib/x86_64-linux-gnu"


class GenerateError(Exception):
    """An input is missing or says something this script does not expect."""


def vname(v: Version) -> str:
    return "GLIBC_" + ".".join(str(p) for p in (v if v[2] else v[:2]))


def rname(v: Version) -> str:
    return vname(v)[len("GLIBC_") :]


def parse_vname(text: str) -> Version | None:
    m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?", text)
    return (int(m[1]), int(m[2]), int(m[3] or 0)) if m else None


# ---------------------------------------------------------------- zig's abilists


@dataclass(frozen=True)
class Inclusion:
    name: str
    targets: int
    lib: str
    is_function: bool
    size: int
    weak: bool
    versions: tuple[Version, ...]


@dataclass(frozen=True)
class Abilists:
    zig_version: str
    sha256: str
    targets: tuple[str, ...]
    inclusions: tuple[Inclusion, ...]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise GenerateError(f"abilists: truncated at byte {self.pos}")
        self.pos += 1
        return self.data[self.pos - 1]

    def u16(self) -> int:
        return self.u8() | self.u8() << 8

    def uleb(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def cstr(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise GenerateError(f"abilists: unterminated string at byte {self.pos}")
        text, self.pos = self.data[self.pos : end].decode("ascii"), end + 1
        return text


def read_abilists(data: bytes, zig_version: str) -> Abilists:
    """Decode zig's binary abilists file (format in the module docstring)."""
    r = _Reader(data)
    libs = [r.cstr() for _ in range(r.u8())]
    versions: list[Version] = [(r.u8(), r.u8(), r.u8()) for _ in range(r.u8())]
    targets = tuple(r.cstr() for _ in range(r.u8()))
    inclusions: list[Inclusion] = []
    for section in ("function", "object", "tls"):
        if section == "tls" and r.pos == len(data):
            break  # files before zig 0.16 have no TLS section
        inclusions += _read_section(r, section, libs, versions)
    if r.pos != len(data):
        raise GenerateError(f"abilists: {len(data) - r.pos} trailing bytes")
    digest = hashlib.sha256(data).hexdigest()
    return Abilists(zig_version, digest, targets, tuple(inclusions))


def _read_section(
    r: _Reader, section: str, libs: list[str], versions: list[Version]
) -> Iterator[Inclusion]:
    name: str | None = None
    for _ in range(r.u16()):
        if name is None:
            name = r.cstr()
        targets = r.uleb()
        size = r.uleb() if section != "function" else 0
        lib_byte = r.u8()
        vers: list[Version] = []
        while True:
            byte = r.u8()
            vers.append(versions[byte & 0x7F])
            if byte & 0x80:
                break
        if section == "tls" or lib_byte & 0x20:
            raise GenerateError(f"abilists: {name}: TLS or unversioned symbols are not handled")
        yield Inclusion(
            name, targets, libs[lib_byte & 0x1F], section == "function", size,
            bool(lib_byte & 0x40), tuple(vers),
        )
        if lib_byte & 0x80:
            name = None


def read_zig_wheel(path: Path) -> Abilists:
    m = re.match(r"ziglang-([^-]+)-", path.name)
    if not m:
        raise GenerateError(f"{path}: not a ziglang wheel name")
    with zipfile.ZipFile(path) as whl:
        return read_abilists(whl.read(ABILISTS_MEMBER), m[1])


# ---------------------------------------------------------------- the model


@dataclass
class Entry:
    """One (symbol, version) in one library, live in releases [since, until)."""

    is_function: bool
    size: int
    since: Version | None = None  # None: since the release of its own version
    until: Version | None = None  # None: still there
    weak: bool | None = None  # binding when it appeared
    weak_flips: Version | None = None  # release from which the binding is the other one

    def live(self, key: Key, release: Version) -> bool:
        start = self.since or key[1]
        return start <= release and (self.until is None or release < self.until)


@dataclass
class Model:
    arch: str
    entries: dict[Key, Entry] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def live_at(self, release: Version) -> set[Key]:
        return {k for k, e in self.entries.items() if k[1] <= release and e.live(k, release)}


def zig_model(abilists: Abilists, arch: str) -> Model:
    triple = ARCHES[arch][0]
    bit = 1 << abilists.targets.index(triple)
    model = Model(arch)
    for inc in abilists.inclusions:
        if inc.targets & bit:
            for v in inc.versions:
                model.entries[(inc.name, v, inc.lib)] = Entry(inc.is_function, inc.size)
    return model


def arch_base(model: Model) -> Version:
    return min(k[1] for k in model.entries if k[2] == "c")


# ---------------------------------------------------------------- real libraries


@dataclass(frozen=True)
class Observation:
    """The public symbols of the glibc libraries of one root."""

    release: Version
    package: str
    symbols: dict[Key, tuple[bool, int, bool]]  # -> (is_function, size, weak)
    markers: dict[str, list[str]]  # short lib -> version nodes with no symbols


def read_root(root: Path) -> Observation:
    libdir = root / HOST_LIBDIR
    libc = _resolve(root, libdir / "libc.so.6").read_bytes()
    m = re.search(rb"\(([^()]*GLIBC[^()]*)\) [a-z ]*release version (\d+)\.(\d+)", libc)
    if not m:
        raise GenerateError(f"{libdir / 'libc.so.6'}: no glibc release banner")
    release = (int(m[2]), int(m[3]), 0)
    symbols: dict[Key, tuple[bool, int, bool]] = {}
    markers: dict[str, list[str]] = {}
    for short in LIB_ORDER:
        soname = SONAMES[short] or ARCHES[HOST_ARCH][1]
        path = _resolve(root, libdir / soname)
        found, markers[short] = _read_library(path)
        symbols.update({(n, v, short): facts for (n, v), facts in found.items()})
    return Observation(release, m[1].decode(), symbols, markers)


def _resolve(root: Path, path: Path) -> Path:
    """Follow symlinks as if ``root`` were ``/`` (bullseye's have absolute targets)."""
    for _ in range(40):
        if not path.is_symlink():
            return path
        target = Path(os.readlink(path))
        path = root / target.relative_to("/") if target.is_absolute() else path.parent / target
    raise GenerateError(f"{path}: symlink loop")


def _read_library(path: Path) -> tuple[dict[tuple[str, Version], tuple[bool, int, bool]], list[str]]:
    """Public versioned definitions -> (is_function, size, weak); and marker nodes."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        verdef, versym = elf.get_section_by_name(".gnu.version_d"), elf.get_section_by_name(".gnu.version")
        dynsym = elf.get_section_by_name(".dynsym")
        if not (isinstance(verdef, GNUVerDefSection) and isinstance(versym, GNUVerSymSection)
                and isinstance(dynsym, SymbolTableSection)):
            raise GenerateError(f"{path}: no version definitions or dynamic symbols")
        names = {v["vd_ndx"]: next(aux).name for v, aux in verdef.iter_versions()}
        out: dict[tuple[str, Version], tuple[bool, int, bool]] = {}
        used: set[str] = set()
        for i, sym in enumerate(dynsym.iter_symbols()):
            ndx = versym.get_symbol(i)["ndx"]
            if sym["st_shndx"] == "SHN_UNDEF" or isinstance(ndx, str):
                continue
            node = names[ndx & 0x7FFF]
            version = parse_vname(node)
            if sym.name == node or version is None:  # version-name ABS symbols, GLIBC_PRIVATE
                continue
            used.add(node)
            kind, bind = sym["st_info"]["type"], sym["st_info"]["bind"]
            is_function = kind in ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS")  # LOOS is IFUNC
            out[(sym.name, version)] = (is_function, 0 if is_function else sym["st_size"], bind == "STB_WEAK")
        markers = [n for n in names.values() if n not in used and n.startswith("GLIBC_ABI_")]
    return out, markers


# ---------------------------------------------------------------- corrections


@dataclass(frozen=True)
class Event:
    """A membership change seen on x86_64, to be carried to the other architectures."""

    added: bool
    key: Key
    release: Version


def is_placeholder(name: str) -> bool:
    return name.startswith("__") and name.endswith("_version_placeholder")


def placeholder_name(lib: str) -> str:
    return "__rtld_version_placeholder" if lib == "ld" else f"__lib{lib}_version_placeholder"


def add_observed_libanl(model: Model, obs: Observation) -> None:
    """Zig has no libanl: take it whole from the oldest real libanl (all since their version)."""
    for key, (is_function, size, _) in obs.symbols.items():
        if key[2] == "anl" and not is_placeholder(key[0]):
            model.entries[key] = Entry(is_function, size)


def add_synthetic_libanl(model: Model, names: Iterable[str]) -> None:
    """libanl's functions date from GLIBC_2.2.3, or the arch's first version if newer."""
    version = max((2, 2, 3), arch_base(model))
    if version < R2_34:
        for name in names:
            model.entries[(name, version, "anl")] = Entry(True, 0)


def reconcile(model: Model, obs: Observation, previous: Version) -> list[Event]:
    """Make the model agree with a real root at its release; date each change."""
    live = model.live_at(obs.release)
    seen = set(obs.symbols)
    removed, added = sorted(live - seen), sorted(seen - live)
    moved_out = {(n, v) for n, v, lib in removed if lib in (*EMPTIED_IN_2_34, "resolv")}
    events: list[Event] = []
    for key in removed:
        in_2_34 = key[2] in (*EMPTIED_IN_2_34, "resolv") or (key[0], key[2]) in REMOVED_IN_2_34
        when = _dated(previous, obs.release, in_2_34)
        model.entries[key] = replace(model.entries[key], until=when)
        events.append(Event(False, key, when))
    for key in added:
        is_function, size, _ = obs.symbols[key]
        in_2_34 = (key[2] == "c" and key[:2] in moved_out) or (
            key[2] in EMPTIED_IN_2_34 and is_placeholder(key[0])
        )
        when = _dated(previous, obs.release, in_2_34)
        old = model.entries.get(key)
        if old is not None and old.until is not None:
            raise GenerateError(f"{model.arch}: {key} came back after removal; not modelled")
        model.entries[key] = Entry(is_function, size, since=max(when, key[1]))
        events.append(Event(True, key, when))
    return events


def _dated(previous: Version, seen: Version, in_2_34: bool) -> Version:
    return R2_34 if in_2_34 and previous < R2_34 <= seen else seen


def apply_2_34(model: Model, resolv_moved: set[str]) -> None:
    """glibc 2.34: libpthread, libdl, librt, libutil, libanl and part of libresolv went
    into libc (same versions), placeholders keep the emptied libraries' version nodes."""
    if arch_base(model) >= R2_34:
        return
    before = (2, 33, 0)
    live = model.live_at(before)
    for key in sorted(live):
        name, version, lib = key
        moves = lib in EMPTIED_IN_2_34 or (lib == "resolv" and name in resolv_moved)
        if (name, lib) in REMOVED_IN_2_34 or (moves and not is_placeholder(name)):
            model.entries[key] = replace(model.entries[key], until=R2_34)
        if moves and not is_placeholder(name):
            target = (name, version, "c")
            if not (target in model.entries and model.entries[target].live(target, R2_34)):
                old = model.entries[key]
                model.entries[target] = Entry(old.is_function, old.size, since=R2_34)
    for lib in EMPTIED_IN_2_34:
        for version in sorted({v for _, v, l in live if l == lib}):
            key = (placeholder_name(lib), version, lib)
            if key not in model.entries:
                model.entries[key] = Entry(True, 0, since=R2_34)


def carry_events(model: Model, events: list[Event], x86: Model) -> None:
    """Apply the changes seen on x86_64 (other than 2.34's) to another arch, by name.

    Versions are compared after collapsing everything older than both arches' first
    version (x86_64's GLIBC_2.2.5 stands for i686's GLIBC_2.0 ... GLIBC_2.2.4).  An
    entry changes only if every x86_64 entry it collapses with changed the same way."""
    floor = max((2, 2, 5), arch_base(model))
    removed = {e.key: e.release for e in events if not e.added and e.release != R2_34}
    moved_in = {(e.key[0], max(e.key[1], floor), e.release) for e in events if e.added and e.key[2] == "c"}
    fates: dict[tuple[str, Version, str], set[Version | None]] = {}
    for name, v, lib in x86.entries:
        fates.setdefault((name, max(v, floor), lib), set()).add(removed.get((name, v, lib)))
    for key, entry in sorted(model.entries.items()):
        name, v, lib = key
        fate = fates.get((name, max(v, floor), lib), {None})
        if len(fate) != 1 or entry.until is not None:
            continue
        (when,) = fate
        if when is None or when <= (entry.since or v):
            continue
        model.entries[key] = replace(entry, until=when)
        if (name, max(v, floor), when) in moved_in and (name, v, "c") not in model.entries:
            model.entries[(name, v, "c")] = Entry(entry.is_function, entry.size, since=when)
    keep_emptied_nodes(model, sorted(set(removed.values())))


def keep_emptied_nodes(model: Model, releases: list[Version]) -> None:
    """When removals empty a library's version node, glibc keeps it with a placeholder."""
    for release in releases:
        if release == R2_34:
            continue
        before = model.live_at((release[0], release[1] - 1, 0))
        after = model.live_at(release)
        for lib in LIB_ORDER:
            nodes_before = {v for _, v, l in before if l == lib}
            nodes_after = {v for _, v, l in after if l == lib}
            for version in sorted(nodes_before - nodes_after):
                key = (placeholder_name(lib), version, lib)
                model.entries.setdefault(key, Entry(True, 0, since=release))


# ---------------------------------------------------------------- binding


def set_x86_binding(model: Model, observations: list[Observation]) -> None:
    """Weak as the real libraries say, oldest first; a change between two of them is
    dated at the later one.  Entries no root shows take the binding of the same
    (symbol, version) in another library, else global."""
    for key, entry in model.entries.items():
        seen = [(o.release, o.symbols[key][2]) for o in observations if key in o.symbols]
        if not seen:
            entry.weak = _weak_elsewhere(key, observations)
            continue
        entry.weak = seen[0][1]
        flips = [release for release, weak in seen if weak != entry.weak]
        entry.weak_flips = flips[0] if flips else None


def _weak_elsewhere(key: Key, observations: list[Observation]) -> bool:
    for obs in observations:  # oldest first: nearest to when a vanished entry lived
        for lib in LIB_ORDER:
            if (key[0], key[1], lib) in obs.symbols:
                return obs.symbols[(key[0], key[1], lib)][2]
    return False


def set_carried_binding(model: Model, x86: Model) -> None:
    """No real libraries here: take x86_64's binding of the newest same-named symbol."""
    by_lib: dict[tuple[str, str], tuple[Version, Entry]] = {}
    by_name: dict[str, tuple[Version, Entry]] = {}
    for (name, version, lib), entry in sorted(x86.entries.items()):
        by_lib[(name, lib)] = (version, entry)  # sorted: the newest version wins
        if name not in by_name or by_name[name][0] <= version:
            by_name[name] = (version, entry)
    for (name, _, lib), entry in model.entries.items():
        found = by_lib.get((name, lib)) or by_name.get(name)
        if found is not None:
            entry.weak, entry.weak_flips = found[1].weak, found[1].weak_flips
        else:
            entry.weak = False


# ---------------------------------------------------------------- checks


def check_facts_agree(model: Model, observations: list[Observation]) -> None:
    """Zig's kind and object size must match the real libraries wherever both speak."""
    bad = []
    for obs in observations:
        for key, (is_function, size, _) in obs.symbols.items():
            entry = model.entries.get(key)
            if entry and (entry.is_function != is_function or entry.size != size):
                bad.append(f"{key}: zig {entry.is_function}/{entry.size}, {rname(obs.release)} {is_function}/{size}")
    if bad:
        raise GenerateError("zig's abilists disagree with real libraries:\n  " + "\n  ".join(bad))


def check_rule_2_34(before: Model, after_obs: Observation, resolv_moved: set[str]) -> list[str]:
    """Predict x86_64 at the newer release with the generic 2.34 rule (used for the other
    arches) and list where it differs from the real library."""
    trial = Model(before.arch, {k: replace(e) for k, e in before.entries.items()})
    apply_2_34(trial, resolv_moved)
    predicted = trial.live_at(after_obs.release)
    real = set(after_obs.symbols)
    return [f"+{k[0]}@{vname(k[1])} in {k[2]}" for k in sorted(real - predicted)] + [
        f"-{k[0]}@{vname(k[1])} in {k[2]}" for k in sorted(predicted - real)
    ]


def check_model(model: Model) -> None:
    """Invariants every record must meet before it is written."""
    bad = [f"{k}: held until {e.until} but only since {e.since or k[1]}"
           for k, e in model.entries.items() if e.until is not None and e.until <= (e.since or k[1])]
    newest = max(k[1] for k in model.entries)
    for release in (R2_34, newest):
        bad += [f"{k} is still in an emptied library at {rname(release)}" for k in model.live_at(release)
                if k[2] in EMPTIED_IN_2_34 and not is_placeholder(k[0])]
    kinds: dict[str, set[bool]] = {}
    for (name, _, _), entry in model.entries.items():
        kinds.setdefault(name, set()).add(entry.is_function)
    bad += [f"{name} is both a function and an object" for name, k in kinds.items() if len(k) > 1]
    if bad:
        raise GenerateError(f"{model.arch}: inconsistent record:\n  " + "\n  ".join(sorted(bad)))


# ---------------------------------------------------------------- building


@dataclass(frozen=True)
class Inputs:
    wheels: tuple[Abilists, ...]
    observations: tuple[Observation, ...]  # ascending release


def pick_abilists(inputs: Inputs, arch: str) -> Abilists:
    triple = ARCHES[arch][0]
    for abilists in inputs.wheels:
        if triple in abilists.targets:
            return abilists
    raise GenerateError(f"{arch}: no given ziglang wheel lists {triple}")


def build_x86(inputs: Inputs) -> tuple[Model, list[Event], set[str]]:
    abilists = pick_abilists(inputs, HOST_ARCH)
    model = zig_model(abilists, HOST_ARCH)
    observations = list(inputs.observations)
    check_facts_agree(model, observations)
    add_observed_libanl(model, observations[0])
    events: list[Event] = []
    previous: Version = (2, 23, 0)  # zig's lists are glibc 2.23's plus later introductions
    for obs in observations:
        if previous < R2_34 <= obs.release:
            resolv = {k[0] for k in model.live_at(previous) if k[2] == "resolv"} - {
                k[0] for k in obs.symbols if k[2] == "resolv"
            }
            for line in check_rule_2_34(model, obs, resolv):
                model.notes.append(f"2.34 rule vs {rname(obs.release)}: {line}")
        events += reconcile(model, obs, previous)
        previous = obs.release
    set_x86_binding(model, observations)
    resolv_moved = {e.key[0] for e in events if e.key[2] == "resolv" and e.release == R2_34}
    model.notes.append(
        f"library membership checked against real x86_64 glibc "
        + ", ".join(rname(o.release) for o in observations)
        + "; changes between them are dated at the later one, except glibc 2.34's own"
    )
    return model, events, resolv_moved


def build_other(inputs: Inputs, arch: str, x86: Model, events: list[Event], resolv_moved: set[str]) -> Model:
    model = zig_model(pick_abilists(inputs, arch), arch)
    add_synthetic_libanl(model, sorted({k[0] for k in x86.entries if k[2] == "anl" and not is_placeholder(k[0])}))
    carry_events(model, events, x86)
    apply_2_34(model, resolv_moved)
    set_carried_binding(model, x86)
    model.notes.append(
        "no real libraries of this arch were read: libanl, the glibc 2.34 moves, other "
        "membership changes and weak binding are carried over from x86_64 by symbol name"
    )
    return model


def markers(inputs: Inputs) -> list[tuple[str, str, Version]]:
    """Version nodes without symbols (GLIBC_ABI_DT_RELR), dated at first observation."""
    found: dict[tuple[str, str], Version] = {}
    for obs in inputs.observations:
        for lib, nodes in obs.markers.items():
            for node in nodes:
                found.setdefault((lib, node), obs.release)
    return sorted((lib, node, when) for (lib, node), when in found.items())


def source_line(abilists: Abilists, inputs: Inputs, arch: str) -> str:
    real = ", ".join(f"{o.package} x86_64" for o in inputs.observations)
    how = "checked against" if arch == HOST_ARCH else "x86_64 changes carried from"
    return f"ziglang {abilists.zig_version} abilists sha256:{abilists.sha256}; {how} {real}"


def to_json(model: Model, inputs: Inputs) -> dict[str, object]:
    arch = model.arch
    ld = ARCHES[arch][1]
    sonames = [SONAMES[lib] or ld for lib in LIB_ORDER]
    versions = sorted({k[1] for k in model.entries})
    vindex = {v: i for i, v in enumerate(versions)}
    rows = []
    for (name, version, lib), e in sorted(model.entries.items()):
        start, weak, flips = e.since or version, bool(e.weak), e.weak_flips
        if flips is not None and (flips <= start or (e.until is not None and flips >= e.until)):
            weak, flips = weak ^ (flips <= start), None  # the flip falls outside its life
        rows.append([
            name, vindex[version], LIB_ORDER.index(lib), -1 if e.is_function else e.size,
            [int(weak), rname(flips)] if flips else int(weak),
            rname(start) if start != version else None,
            rname(e.until) if e.until else None,
        ])
    return {
        "format": FORMAT,
        "arch": arch,
        "zig_target": ARCHES[arch][0],
        "source": source_line(pick_abilists(inputs, arch), inputs, arch),
        "notes": model.notes,
        "libraries": sonames,
        "versions": [vname(v) for v in versions],
        "markers": [[sonames[LIB_ORDER.index(lib)], node, rname(when)] for lib, node, when in markers(inputs)],
        "symbols": rows,
    }


def write_gzip_json(path: Path, doc: dict[str, object]) -> int:
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return len(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zig-wheel", type=Path, action="append", required=True,
                        help="a ziglang wheel; the first that lists an arch is used for it")
    parser.add_argument("--old-root", type=Path, default=Path.home() / ".cache/manywheel/bullseye-root",
                        help="root of an older x86_64 Debian (glibc 2.31 bullseye)")
    parser.add_argument("--new-root", type=Path, default=Path("/"),
                        help="root of a newer x86_64 Debian (glibc >= 2.34), default this host")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src/manywheel/glibc/data")
    parser.add_argument("--arch", action="append", choices=sorted(ARCHES), help="only these arches")
    args = parser.parse_args(argv)
    try:
        wheels = tuple(read_zig_wheel(p) for p in args.zig_wheel)
        observations = tuple(sorted((read_root(args.old_root), read_root(args.new_root)), key=lambda o: o.release))
        if not observations[0].release < R2_34 <= observations[1].release:
            raise GenerateError("need one root older than glibc 2.34 and one at 2.34 or newer")
        inputs = Inputs(wheels, observations)
        x86, events, resolv_moved = build_x86(inputs)
        args.out.mkdir(parents=True, exist_ok=True)
        for arch in args.arch or list(ARCHES):
            model = x86 if arch == HOST_ARCH else build_other(inputs, arch, x86, events, resolv_moved)
            check_model(model)
            size = write_gzip_json(args.out / f"glibc-abi-{arch}.json.gz", to_json(model, inputs))
            print(f"{arch}: {len(model.entries)} entries, {size} bytes")
            for note in model.notes:
                print(f"  note: {note}")
    except (GenerateError, OSError, zipfile.BadZipFile, KeyError) as e:
        print(f"make_glibc_abi: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
