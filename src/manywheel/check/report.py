"""Turn a verdict into words (for people) or data (for --json)."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping

from ..policy import Policy
from .scan import Scan
from .verify import Constraint, Verdict


def _key(c: Constraint) -> tuple[int, int]:
    return (1, 0) if c.oldest is None else (0, c.oldest.libc_version.major * 1000 + c.oldest.libc_version.minor)


def render_verdict(v: Verdict, source: str, every: bool = True) -> str:
    """The verdict, why it is not better (for each older policy, the nearest fact ruling it out), the facts.

    With ``every`` false, each file shows its first few facts of each group and a count of the rest.
    The caller prints ``summary_line`` last, after what it adds.
    """
    lines = [f"{source}: {v.name}"]
    if v.policy is None:
        lines.extend(_why_linux(v))
    if not v.files:
        lines.append("  no ELF files: nothing limits the platform")
    lines.extend(_ruled_out(v))
    lines.extend(_details(v, None if every else _SHOWN))
    return "\n".join(lines)


def summary_line(v: Verdict, scan: Scan | None = None) -> str:
    read = ""
    if scan is not None and scan.members > 1:
        read = (f" (of {scan.members} files; {_size(scan.read)} of their {_size(scan.size)} read)")
    return f"summary: {len(v.files)} ELF files read{read}, {v.refs_checked} references checked, verdict {v.name}"


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} bytes"
    value = n / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _why_linux(v: Verdict) -> list[str]:
    """One line first: the first fact no policy accepts; then what the files would meet without such facts."""
    forcing = [c for c in v.constraints if c.oldest is None]
    if not forcing:
        return []
    first = forcing[0]
    lines = [f"  why linux_{v.arch}: {first.file}: {first.subject}: {first.reason}"]
    kinds = sorted({c.kind for c in forcing})
    files = len({c.file for c in forcing})
    without = v.policy_ignoring(kinds)
    if without is not None:
        lines.append(f"  ({len(forcing)} such fact{'s' if len(forcing) != 1 else ''} ({', '.join(kinds)}) in {files} "
                     f"file{'s' if files != 1 else ''}; without them the files would meet {without.display_name})")
    return lines


def _ruled_out(v: Verdict) -> list[str]:
    """Each older policy with the nearest fact ruling it out; runs of policies with the same fact share a line."""
    rows = v.ruled_out()
    if not rows:
        return []
    lines = ["  why not an older policy (the nearest fact that rules each out, and how many do):"]
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1][1] == rows[i][1] and rows[j + 1][2] == rows[i][2]:
            j += 1
        policy, c, count = rows[i]
        names = policy.display_name if i == j else f"{policy.display_name} .. {rows[j][0].display_name}"
        lines.append(f"    {names}: {c.file}: {c.subject}: {c.reason} "
                     f"({count} fact{'s' if count != 1 else ''})")
        i = j + 1
    return lines


_SHOWN = 5


def _details(v: Verdict, shown: int | None) -> list[str]:
    """The facts (``shown`` of each file's per group, or all), grouped by the oldest policy accepting them.

    Files with the same facts share one list."""
    groups: dict[str, list[Constraint]] = defaultdict(list)
    for c in sorted(v.constraints, key=_key, reverse=True):
        groups[c.oldest.display_name if c.oldest else "no policy"].append(c)
    lines = ["  the facts that rule out older policies (strictest first):"] if groups else []
    for name, items in groups.items():
        lines.append(f"    {'needs ' + name if name != 'no policy' else 'accepted by no ' + v.family + ' policy'}:")
        by_file: dict[str, list[Constraint]] = defaultdict(list)
        for c in items:
            by_file[c.file].append(c)
        same: dict[tuple[tuple[str, str], ...], list[str]] = defaultdict(list)
        for file, cs in by_file.items():
            same[tuple((c.subject, c.reason) for c in cs)].append(file)
        for facts, files in same.items():
            lines.extend(f"      {file}" for file in files)
            lines.extend(f"        {subject}: {reason}" for subject, reason in facts[:shown])
            if shown is not None and len(facts) > shown:
                lines.append(f"        ... and {len(facts) - shown} more (--all lists every one)")
    return lines


def render_violations(v: Verdict, target: Policy, origins: Mapping[tuple[str, str], list[str]] | None = None,
                      notes: Mapping[str, str] | None = None) -> str:
    """The report of a target the files do not meet: every offending fact, per file.

    It is the message of a ``ComplianceError``, whose ``render`` puts the ``manywheel: error:``
    (or ``manywheel check``'s ``does not meet:``) in front and ``hint_for`` after.

    ``origins`` names the objects that reference a symbol; ``notes`` replaces the reason
    for a symbol (e.g. "no version <= GLIBC_2.17 exists and no shim covers it").
    """
    blocking = v.blocking(target)
    by_file: dict[str, list[Constraint]] = defaultdict(list)
    for c in blocking:
        by_file[c.file].append(c)
    lines = [f"{len(blocking)} violation{'s' if len(blocking) != 1 else ''} of "
             f"{target.display_name} in {len(by_file)} file{'s' if len(by_file) != 1 else ''}; "
             f"the files meet {v.name}"]
    for file, cs in by_file.items():
        lines.append(f"  {file}:")
        for c in cs:
            accepted = f"accepted by {c.oldest.name}" if c.oldest else "accepted by no policy"
            reason = (notes or {}).get(c.symbol or "", f"{c.reason} ({accepted})")
            lines.append(f"    {c.subject}: {reason}")
            for where in (origins or {}).get((c.file, c.symbol or ""), [])[:5]:
                lines.append(f"        referenced from {where}")
    return "\n".join(lines)


def hint_for(v: Verdict, target: Policy) -> str:
    blocking = v.blocking(target)
    kinds = {c.kind for c in blocking}
    hints = []
    if "symbol-version" in kinds or "blacklist" in kinds:
        hints.append("keep [tool.manywheel] pin = true (the default) so every reference is pinned to the target, "
                     "avoid the functions named, or choose a newer target")
    if any(c.kind == "library" and c.unreachable for c in blocking):
        hints.append("give the file a RUNPATH that leads to the bundled library ($ORIGIN/<relative directory>)")
    if any(c.kind == "library" and not c.unreachable for c in blocking):
        hints.append("link the libraries named statically, or bundle them, or choose a target whose allow-list has them")
    if "relr" in kinds:
        hints.append("link with -Wl,-z,nopack-relative-relocs")
    if "rpath" in kinds:
        hints.append("do not pass absolute -rpath flags; use $ORIGIN-relative ones")
    if "unversioned" in kinds:
        hints.append("an unversioned reference is a function no library provided at link time (with pinning: one "
                     "the target's glibc lacks): do without it, declare it weak and fall back when it is NULL, "
                     "or choose the newer target named above")
    if "exec-stack" in kinds:
        hints.append("link with -Wl,-z,noexecstack and fix assembly sources lacking .note.GNU-stack")
    if v.policy is not None:
        hints.append(f"set [tool.manywheel] target = \"{v.policy.name}\" (or \"auto\") to accept what the files meet")
    return "\n".join(hints)


def verdict_json(v: Verdict, target: Policy | None = None, scan: Scan | None = None) -> dict[str, Any]:
    forcing = [c for c in v.constraints if c.oldest is None]
    without = v.policy_ignoring({c.kind for c in forcing}) if forcing else v.policy
    data: dict[str, Any] = {
        "verdict": v.platform_tag,
        "policy": v.policy.name if v.policy else None,
        "arch": v.arch,
        "family": v.family,
        "files": list(v.files),
        "references_checked": v.refs_checked,
        "why_linux": _constraint_json(forcing[0]) if v.policy is None and forcing else None,
        "without_unaccepted": without.display_name if without else None,
        "ruled_out": [{"policy": p.display_name, "first": _constraint_json(c), "count": n} for p, c, n in v.ruled_out()],
        "constraints": [_constraint_json(c) for c in v.constraints],
        "summary": {"elf_files": len(v.files), "references_checked": v.refs_checked, "verdict": v.platform_tag,
                    "files_looked_at": scan.members if scan else len(v.files),
                    "bytes": scan.size if scan else None, "bytes_read": scan.read if scan else None,
                    "line": summary_line(v, scan)},
    }
    if target is not None:
        data["target"] = {"name": target.display_name, "meets": v.meets(target),
                          "blocking": [_constraint_json(c) for c in v.blocking(target)]}
    return data


def _constraint_json(c: Constraint) -> dict[str, Any]:
    return {"kind": c.kind, "file": c.file, "subject": c.subject, "reason": c.reason,
            "oldest_policy": c.oldest.name if c.oldest else None,
            "symbol": c.symbol, "version": c.version, "library": c.library}
