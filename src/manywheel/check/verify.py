"""Judge ELF facts against the policies: a pure function of what was read.

Every fact that rules out at least the oldest policy becomes a :class:`Constraint`
that records the oldest policy accepting it (or none).  Because each newer policy
allows at least what an older one allows (checked when the data is loaded), the
verdict is simply the newest of those "oldest accepting" policies.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Collection, Iterable, Mapping, Sequence

from .elf import ElfFacts
from ..wheel import install_path
from ..arches import ARCHES
from ..policy import Policy, split_version

if TYPE_CHECKING:
    from ..glibc.abi import GlibcAbi

# The dynamic loader is part of every policy even though the lists do not name it.
_LOADER = re.compile(r"^(ld-linux[-\w.]*\.so\.\d+|ld64\.so\.\d+|ld\.so\.\d+|ld-musl-[\w]+\.so\.1|libc\.musl-[\w]+\.so\.1)$")
_MUSL = re.compile(r"^(libc\.musl-|ld-musl-)")
# Libraries whose every symbol is versioned, so an unversioned reference cannot bind to them
# on an older system and simply fails to load there.
_VERSIONED_SYSTEM_LIBS = re.compile(
    r"^(libc|libm|libdl|librt|libpthread|libutil|libanl|libresolv|libnsl|libgcc_s|libstdc\+\+|libatomic)\.so\.\d+$|^ld-"
)
_ISA_BASELINE = 0x1


@dataclass(frozen=True)
class Constraint:
    """One fact of one file that some policies reject."""

    kind: str  # library | symbol-version | blacklist | unversioned | arch | exec-stack | relr | rpath | isa
    file: str
    subject: str  # e.g. "getrandom@GLIBC_2.25 (libc.so.6)" or "NEEDED libssl.so.3"
    reason: str  # why a policy older than ``oldest`` rejects it
    oldest: Policy | None  # the oldest policy that accepts it; None when no policy does
    symbol: str | None = None
    version: str | None = None
    library: str | None = None
    unreachable: bool = False  # a library the wheel bundles that this file's RPATH/RUNPATH does not lead to

    def blocks(self, policy: Policy) -> bool:
        return self.oldest is None or self.oldest.libc_version > policy.libc_version or self.oldest.family != policy.family


@dataclass(frozen=True)
class Verdict:
    """The best policy every file meets, with every fact that rules out an older one."""

    arch: str
    family: str
    policy: Policy | None  # None means plain linux_<arch>
    policies: tuple[Policy, ...]  # the family's policies for the arch, most compatible first
    constraints: tuple[Constraint, ...]
    files: tuple[str, ...]
    refs_checked: int

    @property
    def platform_tag(self) -> str:
        return self.policy.tag if self.policy else f"linux_{self.arch}"

    @property
    def name(self) -> str:
        return self.policy.display_name if self.policy else f"linux_{self.arch}"

    def blocking(self, policy: Policy) -> list[Constraint]:
        """The constraints that keep the files from meeting ``policy``."""
        return [c for c in self.constraints if c.blocks(policy)]

    def meets(self, policy: Policy) -> bool:
        return self.policy is not None and self.policy.family == policy.family and self.policy.libc_version <= policy.libc_version and not self.blocking(policy)

    def ruled_out(self) -> list[tuple[Policy, Constraint, int]]:
        """For each policy older than the verdict: the first constraint that rules it out, and how many do.

        "First" is the nearest: among the constraints blocking the policy, one that the
        oldest possible policy accepts (so the list shows each step up the ladder), the
        first of those in file and symbol order.
        """
        older = [p for p in self.policies if self.policy is None or p.libc_version < self.policy.libc_version]
        result = []
        for p in older:
            blocking = self.blocking(p)
            if blocking:
                result.append((p, min(blocking, key=_nearest), len(blocking)))
        return result

    def policy_ignoring(self, kinds: Iterable[str]) -> Policy | None:
        """The verdict the files would get if no constraint of ``kinds`` counted (e.g. {"rpath"})."""
        skipped = set(kinds)
        return _newest_oldest(self.policies, [c for c in self.constraints if c.kind not in skipped])


def judge(facts: Sequence[ElfFacts], policies: Sequence[Policy], arch: str,
          exclude: Callable[[str], bool] | None = None) -> Verdict:
    """Judge every ELF file of one wheel (or one directory) together.

    ``exclude``: libraries something outside the wheel provides (``[tool.manywheel] exclude``);
    they are judged like the wheel's own.
    """
    family = "musllinux" if any(_is_musl(f) for f in facts) else "manylinux"
    ordered = tuple(p for p in policies if p.family == family and p.arch == arch)
    in_wheel = {name for f in facts for name in (f.soname, f.path.rsplit("/", 1)[-1]) if name}
    excluded = {lib for f in facts for lib in f.needed if exclude is not None and exclude(lib)}
    exported_in_wheel = {s for f in facts for s in f.exported}
    locations = bundled_locations(facts)
    constraints: list[Constraint] = []
    refs = 0
    for f in facts:
        refs += len(f.versioned_refs) + len(f.unversioned_refs) + len(f.needed)
        constraints.extend(check_file(f, ordered, arch, family, in_wheel, exported_in_wheel, excluded))
        constraints.extend(_unreachable(f, locations, ordered))
    if not ordered:
        constraints.append(Constraint("arch", facts[0].path if facts else "", f"{family} on {arch}",
                                      f"no {family} policy exists for {arch}", None))
    verdict = _newest_oldest(ordered, constraints)
    return Verdict(arch, family, verdict, ordered, tuple(constraints), tuple(f.path for f in facts), refs)


def _newest_oldest(ordered: Sequence[Policy], constraints: Iterable[Constraint]) -> Policy | None:
    """The newest of the constraints' oldest accepting policies: the best policy all of them allow."""
    verdict: Policy | None = ordered[0] if ordered else None
    for c in constraints:
        if c.oldest is None:
            return None
        if verdict is not None and c.oldest.libc_version > verdict.libc_version:
            verdict = c.oldest
    return verdict


def _nearest(c: Constraint) -> tuple[int, int, int]:
    if c.oldest is None:
        return (1, 0, 0)
    return (0, c.oldest.libc_version.major, c.oldest.libc_version.minor)


def bundled_locations(facts: Sequence[ElfFacts]) -> dict[str, list[str]]:
    """File name -> the directories that hold an ELF file of that name, once installed."""
    where: dict[str, list[str]] = {}
    for f in facts:
        directory, _, base = install_path(f.path).rpartition("/")
        where.setdefault(base, []).append(directory)
    return where


def search_directories(f: ElfFacts) -> list[str] | None:
    """The directories the loader searches for ``f``'s libraries once installed: its $ORIGIN-relative
    RPATH or RUNPATH entries, resolved from where ``f`` is installed (``<dist>.data/platlib/`` is
    the install root); None when it names no search path at all."""
    entries = f.runpath or f.rpath
    if not entries:
        return None
    origin = install_path(f.path).rpartition("/")[0]
    found = []
    for entry in entries:
        for token in ("$ORIGIN", "${ORIGIN}"):
            if entry == token or entry.startswith(token + "/"):
                found.append(posixpath.normpath(posixpath.join(origin, entry[len(token) + 1:])))
    return [("" if d == "." else d) for d in found]


def _unreachable(f: ElfFacts, locations: Mapping[str, list[str]], ordered: Sequence[Policy]) -> Iterable[Constraint]:
    """A library the wheel bundles, which this file's own search path does not lead to.

    A file that names no search path relies on its libraries being loaded first (by a
    ``ctypes`` preload or another module); one that does name some is meant to find them
    there, and the loader looks nowhere else in the wheel.
    """
    directories = search_directories(f)
    if directories is None:
        return
    for lib in f.needed:
        if "/" in lib or lib not in locations or _LOADER.match(lib) or (ordered and lib in ordered[-1].libraries):
            continue
        if any(d in directories for d in locations[lib]):
            continue
        where = ", ".join(sorted({posixpath.join(d, lib) if d else lib for d in locations[lib]}))
        paths = ":".join(f.runpath or f.rpath)
        yield Constraint("library", f.path, f"NEEDED {lib}",
                         f"bundled at {where}, but this file's {'RUNPATH' if f.runpath else 'RPATH'} ({paths}) "
                         f"does not lead there: the loader finds it only if something loaded it first",
                         None, library=lib, unreachable=True)


def check_file(f: ElfFacts, ordered: Sequence[Policy], arch: str, family: str,
               in_wheel: set[str], exported_in_wheel: set[str], excluded: Collection[str] = ()) -> Iterable[Constraint]:
    """Every constraint one file imposes."""
    if f.arch != arch:
        yield Constraint("arch", f.path, f"machine {f.machine} ({f.elf_class}-bit)",
                         f"the wheel is for {arch}, this file is for {f.arch or 'an unsupported architecture'}", None)
        return
    yield from _libraries(f, ordered, family, in_wheel, excluded)
    yield from _symbol_versions(f, ordered, family)
    yield from _version_needs(f, ordered, family)
    yield from _blacklisted(f, ordered)
    if family == "manylinux":
        yield from _unversioned(f, ordered, in_wheel, exported_in_wheel, arch)
    else:
        yield from _musl(f, ordered)
    yield from _properties(f, ordered, family)


def _rejected(ordered: Sequence[Policy], accept: Callable[[Policy], bool]) -> bool:
    """Whether the oldest policy rejects it (so does the lack of any policy)."""
    return not ordered or not accept(ordered[0])


def _oldest_accepting(ordered: Sequence[Policy], accept: Callable[[Policy], bool]) -> Policy | None:
    """The oldest policy from which every newer one accepts."""
    found = None
    for p in reversed(ordered):
        if not accept(p):
            break
        found = p
    return found


def _has_library(lib: str) -> Callable[[Policy], bool]:
    return lambda p: lib in p.libraries


def _allows_version(version: str) -> Callable[[Policy], bool]:
    prefix, number = split_version(version)
    return lambda p: p.allows_version(prefix, number) is not False


def _not_blacklisted(name: str, lib: str) -> Callable[[Policy], bool]:
    return lambda p: name not in p.blacklist.get(lib, frozenset())


def _allows_relr(p: Policy) -> bool:
    return p.allows_version("GLIBC", "ABI_DT_RELR") is True


def _libraries(f: ElfFacts, ordered: Sequence[Policy], family: str, in_wheel: set[str],
               excluded: Collection[str]) -> Iterable[Constraint]:
    """Each NEEDED library from outside the wheel that the oldest policy does not allow."""
    for lib in f.needed:
        if lib in in_wheel or lib in excluded or _LOADER.match(lib):
            continue
        accept = _has_library(lib)
        if _rejected(ordered, accept):
            oldest = _oldest_accepting(ordered, accept)
            why = f"allowed only from {oldest.name}" if oldest else f"not in any {family} allow-list"
            yield Constraint("library", f.path, f"NEEDED {lib}", why, oldest, library=lib)


def _symbol_versions(f: ElfFacts, ordered: Sequence[Policy], family: str) -> Iterable[Constraint]:
    """Each versioned reference whose version the oldest policy does not allow."""
    judged: dict[str, tuple[bool, Policy | None]] = {}  # one judgement per version, however many symbols
    for ref in f.versioned_refs:
        if ref.version not in judged:
            accept = _allows_version(ref.version)
            judged[ref.version] = (_rejected(ordered, accept), _oldest_accepting(ordered, accept))
        is_rejected, oldest = judged[ref.version]
        if is_rejected:
            why = f"{ref.version} is allowed only from {oldest.name}" if oldest else f"{ref.version} is in no {family} policy"
            yield Constraint("symbol-version", f.path, f"{ref.name}@{ref.version} ({ref.library})", why, oldest,
                             symbol=ref.name, version=ref.version, library=ref.library)


def _version_needs(f: ElfFacts, ordered: Sequence[Policy], family: str) -> Iterable[Constraint]:
    """Each version need no symbol reference names (judged above), that the oldest policy does not allow."""
    with_symbols = {(r.library, r.version) for r in f.versioned_refs}
    for library, version in f.version_needs:
        if (library, version) in with_symbols:
            continue  # already judged symbol by symbol
        accept = _allows_version(version)
        if _rejected(ordered, accept):
            oldest = _oldest_accepting(ordered, accept)
            why = f"{version} is allowed only from {oldest.name}" if oldest else f"{version} is in no {family} policy"
            yield Constraint("symbol-version", f.path, f"version {version} ({library})", why, oldest,
                             version=version, library=library)


def _blacklisted(f: ElfFacts, ordered: Sequence[Policy]) -> Iterable[Constraint]:
    listed = {name for p in ordered for names in p.blacklist.values() for name in names}  # any policy's
    refs: list[tuple[str, str, str | None]] = [(r.name, r.library, r.version) for r in f.versioned_refs
                                               if not r.weak and r.name in listed]
    refs += [(r.name, lib, None) for r in f.unversioned_refs if not r.weak and r.name in listed for lib in f.needed]
    for name, lib, version in refs:
        accept = _not_blacklisted(name, lib)
        if _rejected(ordered, accept):
            oldest = _oldest_accepting(ordered, accept)
            subject = f"{name}@{version} ({lib})" if version else f"{name} ({lib})"
            why = f"blacklisted (a non-weak reference) before {oldest.name}" if oldest else "blacklisted in every policy"
            yield Constraint("blacklist", f.path, subject, why, oldest, symbol=name, version=version, library=lib)


# Libraries every Python interpreter has loaded, so their symbols are in the global scope
# an extension module's unversioned references are resolved in.
_LOADED_BY_PYTHON = frozenset({"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "libutil.so.1"})


def _unversioned(f: ElfFacts, ordered: Sequence[Policy], in_wheel: set[str], exported_in_wheel: set[str],
                 arch: str) -> Iterable[Constraint]:
    """An unversioned reference binds to the default version of a symbol with that name in the
    process, if there is one: it needs the glibc that first had the symbol, in a library the
    process has loaded; one that no glibc defines fails to load everywhere."""
    outside = [lib for lib in f.needed if lib not in in_wheel]
    if not all(_VERSIONED_SYSTEM_LIBS.match(lib) for lib in outside):
        return  # a library without symbol versions (libX11, libGL, ...) may provide it
    abi = None
    for ref in f.unversioned_refs:
        if ref.weak or ref.name.startswith(("Py", "_Py")) or ref.name in exported_in_wheel:
            continue
        abi = abi or _glibc_abi(arch)
        known = abi.oldest(ref.name) if abi is not None else None
        subject = f"{ref.name} (unversioned)"
        if known is None:
            yield Constraint("unversioned", f.path, subject,
                             "no glibc defines it: an undefined reference with no symbol version fails to load "
                             "where nothing provides the symbol", None, symbol=ref.name)
            continue
        if known.library not in _LOADED_BY_PYTHON and known.library not in f.needed:
            yield Constraint("unversioned", f.path, subject,
                             f"glibc defines it in {known.library}, which this file does not load", None,
                             symbol=ref.name, library=known.library)
            continue
        accept = _allows_version(known.version)
        if _rejected(ordered, accept):
            oldest = _oldest_accepting(ordered, accept)
            yield Constraint("unversioned", f.path, subject,
                             f"binds to {ref.name} of {known.library}, which glibc has from {known.version} "
                             f"(allowed only from {oldest.name if oldest else 'no policy'})", oldest,
                             symbol=ref.name, version=known.version, library=known.library)


def _glibc_abi(arch: str) -> GlibcAbi | None:
    """The packaged record for ``arch`` (read once, by load_abi), or None when there is none for it.

    A record that exists but cannot be read or parsed raises its AbiDataError: a broken
    installation is said, not hidden (and not re-read for every reference)."""
    from ..glibc.abi import load_abi

    return load_abi(arch) if arch in ARCHES else None


def _musl(f: ElfFacts, ordered: Sequence[Policy]) -> Iterable[Constraint]:
    """musl does not version its symbols: no reference tells which musl a file needs."""
    if not ordered or not (f.unversioned_refs or f.versioned_refs):
        return
    newest = ordered[-1]
    if newest == ordered[0]:
        return
    yield Constraint("musl", f.path, f"{len(f.unversioned_refs)} unversioned references",
                     f"musl does not version its symbols, so no older musl can be shown to have them; "
                     f"{newest.name}, the musl of today's musllinux build images, is the oldest policy to vouch for",
                     newest)


def _properties(f: ElfFacts, ordered: Sequence[Policy], family: str) -> Iterable[Constraint]:
    if f.exec_stack:
        yield Constraint("exec-stack", f.path, "PT_GNU_STACK RWX",
                         "an executable stack: glibc >= 2.41 refuses to dlopen such a file; link with -Wl,-z,noexecstack", None)
    if f.has_relr and _rejected(ordered, _allows_relr):
        oldest = _oldest_accepting(ordered, _allows_relr)
        why = ("packed relative relocations need glibc >= 2.36" if family == "manylinux" else
               "packed relative relocations need musl >= 1.2.4, which no musllinux policy guarantees "
               "(musllinux_1_2 admits musl 1.2.0 to 1.2.3, whose loader ignores them)")
        yield Constraint("relr", f.path, "DT_RELR", why, oldest)
    for entry in f.rpath + f.runpath:
        if not entry.startswith(("$ORIGIN", "${ORIGIN}")):
            yield Constraint("rpath", f.path, f"RPATH {entry}",
                             "points outside the wheel, at a directory of the build host", None)
    if f.x86_isa_needed is not None and f.x86_isa_needed & ~_ISA_BASELINE:
        level = f.x86_isa_needed.bit_length()
        yield Constraint("isa", f.path, f"x86 ISA level x86-64-v{level}",
                         "needs more than the baseline x86-64 ISA every manylinux x86_64 system has", None)


def _is_musl(f: ElfFacts) -> bool:
    return any(_MUSL.match(lib) for lib in f.needed) or bool(f.interpreter and "ld-musl" in f.interpreter)
