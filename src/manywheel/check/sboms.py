"""Read what a wheel's software bills of materials declare (PEP 770: ``*.dist-info/sboms/*.json``).

Any producer: manywheel's own, auditwheel's, maturin's, a project's.  CycloneDX JSON (any
spec version; ``metadata.tools`` as the old list or the 1.5 object) and SPDX JSON are
understood; a field of an unexpected type is left out rather than failing the check.  A
member that is not JSON at all is an error naming it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import WheelError
from .scan import Scan, scan_path

_SHOWN = 20


@dataclass(frozen=True)
class SbomComponent:
    """One component an SBOM declares."""

    name: str
    version: str | None
    purl: str | None
    kind: str | None  # CycloneDX type ("library", ...), None for SPDX
    how: tuple[str, ...] = ()  # manywheel's "bundled as ..." / "linked statically into ..."
    locations: tuple[str, ...] = ()  # the wheel files that hold it, where the SBOM says so


@dataclass(frozen=True)
class Sbom:
    """One SBOM member of a wheel."""

    member: str
    format: str  # "CycloneDX 1.5", "SPDX-2.3", or "unknown"
    tools: tuple[str, ...]  # "auditwheel 6.8.2", ...
    components: tuple[SbomComponent, ...]


def sboms_of(scan: Scan) -> list[Sbom]:
    """The SBOMs the scan of a wheel (or of an unpacked wheel's directory) found; none for anything else."""
    return [parse_sbom(member, data) for member, data in scan.sboms]


def read_sboms(path: Path) -> list[Sbom]:
    """The SBOMs of a wheel, an unpacked wheel's directory or an ELF file (none)."""
    return sboms_of(scan_path(path))


def parse_sbom(member: str, data: bytes) -> Sbom:
    """What one SBOM file declares; a WheelError naming ``member`` when it is not JSON."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WheelError(f"{member}: the SBOM is not valid JSON ({e})",
                         hint="the wheel's producer wrote a broken SBOM; rebuild the wheel or report it to its producer"
                         ) from e
    if not isinstance(doc, dict):
        return Sbom(member, "unknown", (), ())
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(member, doc)
    if isinstance(doc.get("spdxVersion"), str):
        return _spdx(member, doc)
    return Sbom(member, "unknown", (), ())


def _cyclonedx(member: str, doc: dict[str, Any]) -> Sbom:
    metadata = _dict(doc.get("metadata"))
    root = _dict(metadata.get("component")).get("bom-ref")
    tools = metadata.get("tools")
    tool_list = _list(tools) if isinstance(tools, list) else _list(_dict(tools).get("components"))
    components = tuple(_cyclonedx_component(c) for c in _walk(_list(doc.get("components")))
                       if c.get("bom-ref") is None or c.get("bom-ref") != root)
    version = doc.get("specVersion")
    return Sbom(member, f"CycloneDX {version}" if isinstance(version, str) else "CycloneDX",
                tuple(_name_version(t) for t in tool_list if isinstance(t, dict) and isinstance(t.get("name"), str)),
                components)


def _walk(components: list[Any]) -> Iterator[dict[str, Any]]:
    for c in components:
        if isinstance(c, dict):
            yield c
            yield from _walk(_list(c.get("components")))


def _cyclonedx_component(c: dict[str, Any]) -> SbomComponent:
    properties = [p for p in _list(c.get("properties")) if isinstance(p, dict)]
    how = tuple(str(p.get("value")) for p in properties if p.get("name") == "manywheel:inclusion")
    occurrences = _list(_dict(c.get("evidence")).get("occurrences"))
    locations = tuple(str(o["location"]) for o in occurrences if isinstance(o, dict) and isinstance(o.get("location"), str))
    return SbomComponent(_str(c.get("name")) or "(unnamed)", _str(c.get("version")), _str(c.get("purl")),
                         _str(c.get("type")), how, locations)


def _spdx(member: str, doc: dict[str, Any]) -> Sbom:
    creators = _list(_dict(doc.get("creationInfo")).get("creators"))
    tools = tuple(c.split(":", 1)[1].strip() for c in creators if isinstance(c, str) and c.startswith("Tool:"))
    components = []
    for p in _list(doc.get("packages")):
        if not isinstance(p, dict):
            continue
        purl = next((r.get("referenceLocator") for r in _list(p.get("externalRefs"))
                     if isinstance(r, dict) and r.get("referenceType") == "purl"), None)
        components.append(SbomComponent(_str(p.get("name")) or "(unnamed)", _str(p.get("versionInfo")), _str(purl), None))
    return Sbom(member, str(doc["spdxVersion"]), tools, tuple(components))


def _name_version(tool: dict[str, Any]) -> str:
    version = _str(tool.get("version"))
    return f"{tool['name']} {version}" if version else str(tool["name"])


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def render_sboms(sboms: list[Sbom], *, every: bool = False) -> str:
    """Indented lines for ``manywheel check``: each SBOM, its tools, and its components."""
    lines = []
    for s in sboms:
        count = f"{len(s.components)} component{'s' if len(s.components) != 1 else ''}"
        by = f", by {', '.join(s.tools)}" if s.tools else ""
        lines.append(f"  SBOM {os.path.basename(s.member)} ({s.format}{by}): {count}")
        shown = s.components if every else s.components[:_SHOWN]
        for c in shown:
            text = c.name + (f" {c.version}" if c.version else "") + (f" ({c.purl})" if c.purl else "")
            lines.append(f"    {text}")
            lines.extend(f"      {h}" for h in c.how)
        if len(shown) < len(s.components):
            lines.append(f"    ... and {len(s.components) - len(shown)} more (--all lists them)")
    return "\n".join(lines)


def sboms_json(sboms: list[Sbom]) -> list[dict[str, object]]:
    """The SBOMs as data for ``manywheel check --json``."""
    return [{"member": s.member, "format": s.format, "tools": list(s.tools),
             "components": [{"name": c.name, "version": c.version, "purl": c.purl, "type": c.kind,
                             "how": list(c.how), "locations": list(c.locations)} for c in s.components]}
            for s in sboms]
