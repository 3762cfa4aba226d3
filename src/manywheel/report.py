"""Turn a verdict into words (for people) or data (for --json)."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping

from .policy import Policy
from .verify import Constraint, Verdict


def _key(c: Constraint) -> tuple[int, int]:
    return (1, 0) if c.oldest is None else (0, c.oldest.libc_version.major * 1000 + c.oldest.libc_version.minor)


def render_verdict(v: Verdict, source: str) -> str:
    lines = [f"{source}: {v.name}"]
    if v.policy is None:
        forcing = [c for c in v.constraints if c.oldest is None]
        first = forcing[0] if forcing else None
        if first is not None:
            lines.append(f"  why linux_{v.arch}: {first.file}: {first.subject}: {first.reason}")
    if not v.files:
        lines.append("  no ELF files: nothing limits the platform")
    groups: dict[str, list[Constraint]] = defaultdict(list)
    for c in sorted(v.constraints, key=_key, reverse=True):
        groups[c.oldest.display_name if c.oldest else "no policy"].append(c)
    if groups:
        lines.append("  what rules out older policies (strictest first):")
    for name, items in groups.items():
        lines.append(f"    {'needs ' + name if name != 'no policy' else 'accepted by no ' + v.family + ' policy'}:")
        by_file: dict[str, list[Constraint]] = defaultdict(list)
        for c in items:
            by_file[c.file].append(c)
        for file, cs in by_file.items():
            lines.append(f"      {file}")
            lines.extend(f"        {c.subject}: {c.reason}" for c in cs)
    lines.append(f"  summary: {len(v.files)} ELF files read, {v.refs_checked} references checked, verdict {v.name}")
    return "\n".join(lines)


def render_violations(v: Verdict, target: Policy, origins: Mapping[tuple[str, str], list[str]] | None = None,
                      notes: Mapping[str, str] | None = None) -> str:
    """The report of a target the files do not meet: every offending fact, per file.

    ``origins`` names the objects that reference a symbol; ``notes`` replaces the reason
    for a symbol (e.g. "no version <= GLIBC_2.17 exists and no shim covers it").
    """
    blocking = v.blocking(target)
    by_file: dict[str, list[Constraint]] = defaultdict(list)
    for c in blocking:
        by_file[c.file].append(c)
    lines = [f"manywheel: error: {len(blocking)} violation{'s' if len(blocking) != 1 else ''} of "
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
    kinds = {c.kind for c in v.blocking(target)}
    hints = []
    if "symbol-version" in kinds or "blacklist" in kinds:
        hints.append("keep [tool.manywheel] pin = true (the default) so every reference is pinned to the target, "
                     "avoid the functions named, or choose a newer target")
    if "library" in kinds:
        hints.append("link the libraries named statically, or bundle them, or choose a target whose allow-list has them")
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


def verdict_json(v: Verdict, target: Policy | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "verdict": v.platform_tag,
        "policy": v.policy.name if v.policy else None,
        "arch": v.arch,
        "family": v.family,
        "files": list(v.files),
        "references_checked": v.refs_checked,
        "constraints": [_constraint_json(c) for c in v.constraints],
    }
    if target is not None:
        data["target"] = {"name": target.display_name, "meets": v.meets(target),
                          "blocking": [_constraint_json(c) for c in v.blocking(target)]}
    return data


def _constraint_json(c: Constraint) -> dict[str, Any]:
    return {"kind": c.kind, "file": c.file, "subject": c.subject, "reason": c.reason,
            "oldest_policy": c.oldest.name if c.oldest else None,
            "symbol": c.symbol, "version": c.version, "library": c.library}
