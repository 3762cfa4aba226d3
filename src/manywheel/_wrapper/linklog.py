"""The link log: one JSON line per link the wrappers ran, in the toolchain directory.

Written by the wrapper (``append``), read by the build side (``read``): which objects went
into which output (to name the source file behind a symbol that breaks the target), which
libraries the link bundled and which external archives it linked statically (for the SBOM,
``manywheel.repair.sbom``).  Standard library only; ``json`` is imported by the functions that need
it, never when the wrapper starts.
"""
from __future__ import annotations

import os

FILE_NAME = "links.jsonl"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypedDict, TypeGuard

    class BundledEntry(TypedDict):
        """A shared library a link bundled."""

        name: str  # its unique file name in <dist>.libs, e.g. libffi-1a2b3c4d.so.8
        path: str  # the prepared copy (no DT_SONAME) in the toolchain's bundle/ directory
        source: str  # the host library it was copied from

    class LinkEntry(TypedDict):
        """One link."""

        output: str  # absolute path of what the link wrote
        inputs: list[str]  # absolute paths of the objects and archives it read
        cwd: str
        bundled: list[BundledEntry]
        static: list[str]  # absolute paths of the external archives the wrapper linked in instead of -lNAME


def path_in(state_dir: str) -> str:
    """Where the link log of the toolchain directory ``state_dir`` is."""
    return os.path.join(state_dir, FILE_NAME)


def append(state_dir: str, entry: LinkEntry) -> None:
    """Add one link (a single short write: concurrent links do not interleave their lines)."""
    import json

    with open(path_in(state_dir), "a") as f:
        f.write(json.dumps(entry) + "\n")


def read(path: str | os.PathLike[str]) -> list[LinkEntry]:
    """Every well-formed entry of the log at ``path`` in order; none when there is no log.

    A line that does not have the schema above (a link cut short, say) is skipped."""
    import json

    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    entries: list[LinkEntry] = []
    for line in lines:
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        entry = _valid(raw)
        if entry is not None:
            entries.append(entry)
    return entries


def _valid(raw: object) -> LinkEntry | None:
    if not isinstance(raw, dict):
        return None
    output, inputs, cwd, bundled = raw.get("output"), raw.get("inputs"), raw.get("cwd"), raw.get("bundled", [])
    static = raw.get("static", [])
    if not (isinstance(output, str) and isinstance(cwd, str) and _strings(inputs) and isinstance(bundled, list)
            and _strings(static)):
        return None
    kept: list[BundledEntry] = []
    for b in bundled:
        if not (isinstance(b, dict) and all(isinstance(b.get(k), str) for k in ("name", "path", "source"))):
            return None
        kept.append({"name": b["name"], "path": b["path"], "source": b["source"]})
    return {"output": output, "inputs": list(inputs), "cwd": cwd, "bundled": kept, "static": list(static)}


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
