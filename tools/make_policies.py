#!/usr/bin/env python3
"""Generate src/manywheel/data/policies.json, manywheel's manylinux/musllinux policy data.

Source of the facts: the policy files that auditwheel (MIT licence) ships,
``auditwheel/policy/manylinux-policy.json`` and ``musllinux-policy.json``, which
record PEP 513/571/599/600/656 as the community applies them.  The script downloads
the pinned auditwheel wheel from PyPI with pip, reads those two files and rewrites
them in manywheel's own layout (one entry per policy, glibc/musl version as numbers,
the source and its sha256 recorded).  Re-run it to update:

    python tools/make_policies.py [--auditwheel-version X.Y.Z]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

DEFAULT_AUDITWHEEL = "6.8.2"
OUT = Path(__file__).resolve().parent.parent / "src" / "manywheel" / "data" / "policies.json"
MEMBERS = {
    "manylinux": "auditwheel/policy/manylinux-policy.json",
    "musllinux": "auditwheel/policy/musllinux-policy.json",
}


def download_wheel(version: str, dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
         "-d", str(dest), f"auditwheel=={version}"],
        check=True,
    )
    (wheel,) = dest.glob("auditwheel-*.whl")
    return wheel


def convert(family: str, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for entry in raw:
        if entry["name"] == "linux":
            continue  # the fallback is manywheel's own, not a policy
        major, minor = (int(x) for x in entry["name"].split("_")[1:3])
        out.append({
            "name": entry["name"],
            "family": family,
            "aliases": list(entry["aliases"]),
            "libc_version": [major, minor],
            "priority": entry["priority"],
            "libraries": sorted(entry["lib_whitelist"]),
            "blacklist": {lib: sorted(syms) for lib, syms in sorted(entry["blacklist"].items())},
            "symbol_versions": {
                arch: {prefix: list(vers) for prefix, vers in sorted(by_prefix.items())}
                for arch, by_prefix in sorted(entry["symbol_versions"].items())
            },
        })
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auditwheel-version", default=DEFAULT_AUDITWHEEL)
    args = parser.parse_args()
    policies: list[dict[str, Any]] = []
    sources = []
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(args.auditwheel_version, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            for family, member in MEMBERS.items():
                data = zf.read(member)
                sources.append(f"{member} sha256:{hashlib.sha256(data).hexdigest()}")
                policies.extend(convert(family, json.loads(data)))
    doc = {
        "source": f"auditwheel {args.auditwheel_version} (MIT): " + "; ".join(sources),
        "generator": "tools/make_policies.py",
        "policies": policies,
    }
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({len(policies)} policies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
