"""The Python half of a wheel's tag: whether each extension module meets the wheel's ABI tag.

A pure function of the ELF facts (the libpython names a file imports, the ``PyInit_*`` it
exports), the file names and the wheel's tags, so it judges a wheel of any architecture on
any host, with no interpreter of the wheel's version:

- ``abi3`` (``cp39-abi3``): every name a file imports from libpython is in the Stable ABI
  (``stable_abi.json``) and was added at or before the tag's version; a module's suffix is
  ``.abi3.so`` (or a bare ``.so``, which every CPython loads), not a version-specific one.
  Each module is also said to meet the newest ``added`` of its imports (``cp312-abi3``), or none.
- ``cpXY`` / ``cpXYt``: a module's ``.cpython-XY[t]-<multiarch>.so`` suffix names the
  wheel's version and build; a module importing what only a free-threaded CPython exports
  (:data:`FREE_THREADED_ONLY`) is not in a GIL-enabled wheel; an ``.abi3.so`` module is not in
  a free-threaded wheel (abi3 is the GIL-enabled object layout; free-threaded CPython has no
  Stable ABI before abi3t, 3.15).
- For free-threaded modules: whether they declare they do not need the GIL, as far as the
  file shows it (:func:`gil_declaration`).

Without a wheel name (a directory or a single file) each module is judged by its own suffix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .elf import ElfFacts
from .stable_abi import PyVersion, StableAbi

# Exported only by a free-threaded (Py_GIL_DISABLED) libpython: CPython 3.13.15 defines
# _Py_DecRefShared, _Py_DecRefSharedDebug and _Py_MergeZeroLocalRefcount in Objects/object.c
# and PyUnstable_Module_SetGIL in Objects/moduleobject.c only under #ifdef Py_GIL_DISABLED,
# and Include/object.h's inline Py_DECREF of a free-threaded build calls the first three
# (the rest of its refcounting, _Py_ThreadId and ob_tid, is inline and leaves no symbol).
# A GIL-enabled build's inline refcounting calls nothing of its own, so the evidence runs
# one way: these names prove a free-threaded build; their absence proves nothing.
FREE_THREADED_ONLY = frozenset({"_Py_DecRefShared", "_Py_DecRefSharedDebug", "_Py_MergeZeroLocalRefcount",
                                "PyUnstable_Module_SetGIL"})
_SUFFIX = re.compile(r"\.(?:cpython-(?P<major>\d)(?P<minor>\d+)(?P<flags>[a-z]*)-(?P<multiarch>[\w-]+)"
                     r"|(?P<stable>abi3t?))\.so$")
_PY_TAG = re.compile(r"^cp(\d)(\d+)$")
_ABI_TAG = re.compile(r"^cp(\d)(\d+)([a-z]*)$")
ABI3_FLOOR = PyVersion(3, 2)


@dataclass(frozen=True)
class WheelAbiTag:
    """The Python and ABI parts of a wheel's tags (``cp39``, ``abi3``), compressed sets split."""

    pythons: tuple[str, ...]
    abis: tuple[str, ...]

    @classmethod
    def from_wheel_name(cls, name: str) -> WheelAbiTag | None:
        parts = name[:-4].split("-") if name.endswith(".whl") else []
        if len(parts) < 5:
            return None
        return cls(tuple(parts[-3].split(".")), tuple(parts[-2].split(".")))

    @property
    def text(self) -> str:
        return f"{'.'.join(self.pythons)}-{'.'.join(self.abis)}"

    @property
    def stable(self) -> bool:
        return any(a in ("abi3", "abi3t") for a in self.abis)

    @property
    def floor(self) -> PyVersion | None:
        """The oldest CPython the Python tags name (``cp39`` -> 3.9); None when none is a ``cpXY``."""
        versions = [PyVersion(int(m[1]), int(m[2])) for m in (_PY_TAG.match(p) for p in self.pythons) if m]
        return min(versions) if versions else None

    @property
    def builds(self) -> tuple[tuple[PyVersion, bool], ...]:
        """The version-specific ABI tags: (version, free-threaded) of each ``cpXY``/``cpXYt``."""
        found = []
        for abi in self.abis:
            m = _ABI_TAG.match(abi)
            if m:
                found.append((PyVersion(int(m[1]), int(m[2])), "t" in m[3]))
        return tuple(found)


@dataclass(frozen=True)
class ModuleAbi:
    """What one ELF file that imports from libpython (or exports ``PyInit_*``) shows of its Python ABI."""

    path: str
    is_module: bool  # exports PyInit_*
    suffix: str  # "abi3", "abi3t", "cpython-311", "cpython-314t", "so" (a bare .so), "" (another name)
    imports: tuple[str, ...]  # the libpython names it imports (Py*, _Py*), sorted
    outside: tuple[str, ...]  # of them, those not in the Stable ABI (on Linux)
    newest: tuple[str, PyVersion] | None  # the import added last to the Stable ABI, and when
    free_threaded: tuple[str, ...]  # imports only a free-threaded CPython exports
    gil: str | None  # for a free-threaded module: what the file shows of its GIL declaration

    @property
    def stable_tag(self) -> str | None:
        """The abi3 tag the file really meets (``cp312-abi3``), or None when it imports outside the Stable ABI."""
        version = self.stable_version
        return f"{version.tag}-abi3" if version else None

    @property
    def stable_version(self) -> PyVersion | None:
        """The oldest CPython whose Stable ABI has every import, or None."""
        if self.outside:
            return None
        return max(self.newest[1], ABI3_FLOOR) if self.newest else ABI3_FLOOR

    @property
    def suffix_version(self) -> tuple[PyVersion, bool] | None:
        m = re.fullmatch(r"cpython-(\d)(\d+)([a-z]*)", self.suffix)
        return (PyVersion(int(m[1]), int(m[2])), "t" in m[3]) if m else None


@dataclass(frozen=True)
class AbiViolation:
    """One fact of one file that the wheel's ABI tag does not allow."""

    kind: str  # stable-abi | abi3-version | suffix | free-threaded | tag
    file: str
    subject: str  # a symbol, or "suffix .cpython-311-x86_64-linux-gnu.so"
    reason: str
    symbol: str | None = None


@dataclass(frozen=True)
class PythonAbiVerdict:
    """Each file's Python ABI and every fact the claimed tag does not allow."""

    tag: WheelAbiTag | None  # None: not a wheel; each module is judged by its own suffix
    modules: tuple[ModuleAbi, ...]
    violations: tuple[AbiViolation, ...]
    source: str  # the Stable ABI record's source line
    notes: tuple[str, ...] = ()  # what could not be judged, and why

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def detailed(self) -> bool:
        """Whether the claim is one a module's symbols can break (abi3, free-threaded, or a file's own suffix)."""
        return self.tag is None or self.tag.stable or any(t for _, t in self.tag.builds)

    @property
    def all_stable(self) -> str | None:
        """The abi3 tag every module meets (the newest of theirs), or None when one imports outside the Stable ABI."""
        versions = [m.stable_version for m in self.modules]
        if not versions or any(v is None for v in versions):
            return None
        return f"{max(v for v in versions if v is not None).tag}-abi3"

    @property
    def claim(self) -> str:
        return f"the Python ABI tag {self.tag.text}" if self.tag else "the Python ABI the file names claim"


def judge_python_abi(facts: Sequence[ElfFacts], wheel_name: str | None, abi: StableAbi) -> PythonAbiVerdict:
    """Judge the files of one wheel (named ``wheel_name``; None for a directory or a file) against its ABI tag."""
    tag = WheelAbiTag.from_wheel_name(wheel_name) if wheel_name else None
    modules = tuple(m for m in (module_abi(f, abi, tag) for f in facts) if m is not None)
    violations: list[AbiViolation] = []
    if tag is not None and tag.stable:
        violations.extend(_tag_problems(tag, modules))
    for m in modules:
        violations.extend(_module_problems(m, tag, abi))
    notes = []
    if abi.abi3t is None and (tag is not None and "abi3t" in tag.abis or any(m.suffix == "abi3t" for m in modules)):
        notes.append(f"abi3t: the Stable ABI record (CPython {abi.cpython}) does not say what abi3t holds; "
                     "abi3t modules are judged against abi3")
    return PythonAbiVerdict(tag, modules, tuple(violations), abi.source, tuple(notes))


def module_abi(f: ElfFacts, abi: StableAbi, tag: WheelAbiTag | None = None) -> ModuleAbi | None:
    """The Python ABI facts of one file; None for a file that neither imports from libpython nor is a module."""
    imports = tuple(sorted({r.name for r in f.unversioned_refs if r.name.startswith(("Py", "_Py"))}))
    is_module = any(name.startswith("PyInit_") for name in f.exported)
    if not imports and not is_module:
        return None
    outside = []
    newest: tuple[str, PyVersion] | None = None
    for name in imports:
        item = abi.symbols.get(name)
        if item is None or not item.on_linux or item.added is None:
            outside.append(name)
        elif newest is None or item.added > newest[1]:
            newest = (name, item.added)
    base = f.path.rsplit("/", 1)[-1]
    m = _SUFFIX.search(base)
    suffix = (m["stable"] or f"cpython-{m['major']}{m['minor']}{m['flags']}") if m else ("so" if base.endswith(".so") else "")
    free_threaded = tuple(n for n in imports if n in FREE_THREADED_ONLY)
    suffix_t = bool(m and not m["stable"] and "t" in m["flags"])
    tag_t = tag is not None and any(t for _, t in tag.builds)
    gil = gil_declaration(set(imports)) if is_module and (free_threaded or suffix_t or tag_t) else None
    return ModuleAbi(f.path, is_module, suffix, imports, tuple(outside), newest, free_threaded, gil)


def gil_declaration(imports: set[str]) -> str:
    """What a free-threaded module's imports show of its GIL declaration.

    Single-phase init (``PyModule_Create2``) declares it by calling ``PyUnstable_Module_SetGIL``;
    without that call, importing the module re-enables the GIL. Multi-phase init
    (``PyModuleDef_Init``) declares it in a ``Py_mod_gil`` slot, which is data the symbols do not show.
    """
    if "PyUnstable_Module_SetGIL" in imports:
        return "declared at import (calls PyUnstable_Module_SetGIL, single-phase init)"
    if "PyModuleDef_Init" in imports:
        return ("cannot be proven from the file (multi-phase init: the Py_mod_gil slot is data); "
                "without Py_mod_gil = Py_MOD_GIL_NOT_USED importing it re-enables the GIL")
    if "PyModule_Create2" in imports:
        return ("not declared (single-phase init without PyUnstable_Module_SetGIL): "
                "importing it re-enables the GIL")
    return "cannot be told from the file"


def _tag_problems(tag: WheelAbiTag, modules: Sequence[ModuleAbi]) -> Iterable[AbiViolation]:
    floor = tag.floor
    if floor is not None and floor < ABI3_FLOOR:
        yield AbiViolation("tag", "", f"tag {tag.text}", f"the Stable ABI begins with CPython 3.2; "
                                                         f"{floor.tag} cannot claim abi3")
    if "abi3t" in tag.abis and floor is not None and floor < PyVersion(3, 15):
        yield AbiViolation("tag", "", f"tag {tag.text}", f"abi3t (PEP 803) begins with CPython 3.15; "
                                                         f"{floor.tag} cannot claim it")
    if floor is None and modules:
        yield AbiViolation("tag", "", f"tag {tag.text}",
                           "an abi3 tag needs a CPython Python tag (cp3X) that says its oldest version")


def _module_problems(m: ModuleAbi, tag: WheelAbiTag | None, abi: StableAbi) -> Iterable[AbiViolation]:
    stable = tag.stable if tag else m.suffix in ("abi3", "abi3t")
    if stable:
        yield from _stable_problems(m, tag, abi)
        return
    builds = tag.builds if tag else ((m.suffix_version,) if m.suffix_version else ())
    if not builds:
        return  # py3-none and the like: no claim about the Python ABI
    versions = {v for v, _ in builds}
    free_threaded = {t for _, t in builds}
    if m.is_module and m.suffix_version is not None:
        version, t = m.suffix_version
        want = " or ".join(f"cpython-{v.major}{v.minor}{'t' if ft else ''}" for v, ft in builds)
        build = "free-threaded" if t else "GIL-enabled"
        if version not in versions:
            yield AbiViolation("suffix", m.path, f"suffix .{m.suffix}",
                               f"a {build} CPython {version} module: the wheel's tag needs {want}")
        elif t not in free_threaded:
            yield AbiViolation("suffix", m.path, f"suffix .{m.suffix}",
                               f"a {build} module in a {'free-threaded' if not t else 'GIL-enabled'} wheel: "
                               f"the wheel's tag needs {want}; the other build of CPython does not load it")
    if m.is_module and m.suffix == "abi3" and free_threaded == {True} and min(versions) < PyVersion(3, 15):
        yield AbiViolation("suffix", m.path, "suffix .abi3.so",
                           "an abi3 module is built for the GIL-enabled object layout: free-threaded CPython has no "
                           "Stable ABI before abi3t (3.15), and loading it there is unsafe")
    if m.free_threaded and False in free_threaded and True not in free_threaded:
        yield AbiViolation("free-threaded", m.path, ", ".join(m.free_threaded),
                           "exported only by a free-threaded CPython (built with Py_GIL_DISABLED): the module was "
                           "compiled for cpXYt and fails to load on the GIL-enabled CPython the tag names",
                           symbol=m.free_threaded[0])


def _stable_problems(m: ModuleAbi, tag: WheelAbiTag | None, abi: StableAbi) -> Iterable[AbiViolation]:
    floor = tag.floor if tag else None
    claim = f"{floor.tag}-abi3" if floor else "abi3"
    record = f"CPython {abi.cpython}'s Stable ABI record"
    for name in m.outside:
        item = abi.symbols.get(name)
        if name in FREE_THREADED_ONLY:
            why = "not in the Stable ABI: exported only by a free-threaded CPython (a module built for cpXYt)"
        elif item is not None:
            why = f"in the Stable ABI only where {item.ifdef} is defined, which a Linux release build of CPython is not"
        else:
            why = f"not in the Stable ABI ({record})"
        yield AbiViolation("stable-abi", m.path, name, why, symbol=name)
    if floor is not None:
        for name in m.imports:
            item = abi.symbols.get(name)
            if item is not None and item.added is not None and item.on_linux and item.added > floor:
                yield AbiViolation("abi3-version", m.path, name,
                                   f"in the Stable ABI from CPython {item.added}, newer than the {claim} the tag "
                                   f"claims (the module meets {m.stable_tag or 'no abi3 tag'})", symbol=name)
    if m.is_module and m.suffix == "abi3" and tag is not None and "abi3t" in tag.abis:
        yield AbiViolation("suffix", m.path, "suffix .abi3.so",
                           "free-threaded CPython does not load .abi3.so: an abi3t module is named <name>.abi3t.so")
    if m.is_module and m.suffix not in ("abi3", "abi3t", "so"):
        what = f"a version-specific module (.{m.suffix}.so) loads only on that CPython" if m.suffix_version \
            else "not an extension module file name CPython loads"
        yield AbiViolation("suffix", m.path, f"suffix of {m.path.rsplit('/', 1)[-1]}",
                           f"{what}: an abi3 module is named <name>.abi3.so")


def render_python_abi(v: PythonAbiVerdict, every: bool = False) -> str:
    """One line per module: its ABI, what abi3 tag it meets, and (free-threaded) its GIL declaration.

    For a version-specific GIL-enabled wheel (``cp311-cp311``), unless ``every``: one summary line."""
    if not v.modules:
        return ""
    if not v.detailed and not every:
        n = sum(1 for m in v.modules if m.is_module)
        would = f"; every file would meet {v.all_stable}" if v.all_stable else ""
        return (f"  Python ABI (tag {v.tag.text if v.tag else '?'}): {n} extension module{'s' if n != 1 else ''}, "
                f"{len(v.modules)} file{'s' if len(v.modules) != 1 else ''} importing from libpython{would}")
    claim = f"tag {v.tag.text}" if v.tag else "no wheel tag: each module by its suffix"
    lines = [f"  Python ABI ({claim}; Stable ABI record of CPython {_cpython(v.source)}):"]
    for m in v.modules:
        kind = {"": "", "so": "a bare .so", "abi3": ".abi3.so", "abi3t": ".abi3t.so"}.get(m.suffix, f".{m.suffix}-*.so")
        what = "module" if m.is_module else "library"
        if m.outside:
            shown = ", ".join(m.outside[:4]) + (f" and {len(m.outside) - 4} more" if len(m.outside) > 4 else "")
            stable = f"no abi3 tag: {len(m.outside)} of {len(m.imports)} libpython imports outside the Stable ABI ({shown})"
        else:
            newest = f", newest {m.newest[0]} ({m.newest[1]})" if m.newest else ""
            stable = f"meets {m.stable_tag} ({len(m.imports)} libpython imports{newest})"
        lines.append(f"    {m.path} ({what}{', ' + kind if kind else ''}): {stable}")
        if m.free_threaded:
            lines.append(f"      free-threaded build: imports {', '.join(m.free_threaded)}")
        if m.gil is not None:
            lines.append(f"      GIL: {m.gil}")
    lines.extend(f"    note: {n}" for n in v.notes)
    return "\n".join(lines)


def render_abi_violations(v: PythonAbiVerdict, origins: Mapping[tuple[str, str], list[str]] | None = None) -> str:
    """The report of an ABI tag the files do not meet, per file, with the objects behind each symbol."""
    by_file: dict[str, list[AbiViolation]] = {}
    for x in v.violations:
        by_file.setdefault(x.file, []).append(x)
    count = len(v.violations)
    lines = [f"{count} violation{'s' if count != 1 else ''} of {v.claim} in "
             f"{len(by_file)} file{'s' if len(by_file) != 1 else ''}"]
    for file, xs in by_file.items():
        lines.append(f"  {file or 'the wheel'}:")
        for x in xs:
            lines.append(f"    {x.subject}: {x.reason}")
            for where in (origins or {}).get((x.file, x.symbol or ""), [])[:5]:
                lines.append(f"        referenced from {where}")
    return "\n".join(lines)


def abi_hint(v: PythonAbiVerdict) -> str:
    kinds = {x.kind for x in v.violations}
    hints = []
    if kinds & {"stable-abi", "abi3-version"}:
        newest = v.all_stable
        hints.append("define Py_LIMITED_API to the version the tag claims (setuptools: py_limited_api=True and "
                     "bdist_wheel's py_limited_api = cp3X) so the compiler refuses calls outside it, and replace "
                     "the functions named")
        if newest:
            hints.append(f"or claim what the modules meet: {newest}")
        else:
            hints.append("or build a version-specific wheel (no py_limited_api)")
    if kinds & {"suffix", "free-threaded"}:
        hints.append("build each module with the interpreter the tag names (a free-threaded python3.XYt for cpXYt "
                     "wheels), and let the build backend name the module (EXT_SUFFIX)")
    if "tag" in kinds:
        hints.append("name a CPython 3.2 or newer in the Python tag of an abi3 wheel (cp39-abi3)")
    return "\n".join(hints)


def python_abi_json(v: PythonAbiVerdict) -> dict[str, object]:
    return {
        "claim": v.tag.text if v.tag else None,
        "stable_abi_record": v.source,
        "meets": v.ok,
        "modules": [{"file": m.path, "module": m.is_module, "suffix": m.suffix, "imports": len(m.imports),
                     "outside_stable_abi": list(m.outside), "stable_abi_tag": m.stable_tag,
                     "newest": [m.newest[0], str(m.newest[1])] if m.newest else None,
                     "free_threaded_symbols": list(m.free_threaded), "gil": m.gil} for m in v.modules],
        "violations": [{"kind": x.kind, "file": x.file, "subject": x.subject, "reason": x.reason,
                        "symbol": x.symbol} for x in v.violations],
    }


def _cpython(source: str) -> str:
    m = re.match(r"CPython (\S+)", source)
    return m[1] if m else source
