#!/usr/bin/env python3
"""Generate manywheel's Stable ABI record (src/manywheel/check/stable_abi.json).

The record lists every item of CPython's Limited API and Stable ABI, as CPython's own
``Misc/stable_abi.toml`` states it: the item's name, its kind (function, data, const,
macro, struct, typedef, feature_macro), the version it was added in, whether it is
``abi_only`` (in the Stable ABI but not the Limited API: private functions that public
macros call) and its ``ifdef`` (the feature macro it depends on, e.g. ``MS_WINDOWS``).
``manywheel check`` and the build judge an ``abi3`` module's libpython imports against
its functions and data.

Source (facts only; no code was copied): the ``Misc/stable_abi.toml`` of the newest
CPython source package that Debian's unstable suite (sid) lets ``apt-get source`` download,
through a private apt configuration (only this file is extracted from the orig tarball).
The packages are tried newest first (``--packages``); a package whose files the mirror no
longer has is skipped, and the record names the one used.

A key of an item that this script does not know (for instance one marking what ``abi3t``,
PEP 803's free-threaded Stable ABI, contains) stops it: teach it what the key means, and
the loader (``manywheel.check.stable_abi``) too, rather than dropping a fact.

Usage::

    python tools/stable-abi.py                       # fetch from Debian sid, write the record
    python tools/stable-abi.py --toml Misc/stable_abi.toml --source "CPython 3.15.2"

It needs Python 3.11+ (tomllib) and, without ``--toml``, apt-get and the keyring
/usr/share/keyrings/debian-archive-keyring.gpg. The output is deterministic for the same toml.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

FORMAT = "manywheel-stable-abi/1"
OUT = Path(__file__).resolve().parent.parent / "src" / "manywheel" / "check" / "stable_abi.json"
MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
PACKAGES = ("python3.15", "python3.14", "python3.13")
KINDS = ("function", "data", "const", "macro", "struct", "typedef", "feature_macro")
# Per-item keys and what becomes of them: kept in the record, or only descriptive.
KEPT = ("added", "abi_only", "ifdef")
DESCRIPTIVE = ("struct_abi_kind", "members", "doc", "windows")


class GenerateError(Exception):
    """An input is missing or says something this script does not expect."""


def fetch_toml(packages: tuple[str, ...], mirror: str, work: Path) -> tuple[bytes, str]:
    """The stable_abi.toml of the first package of ``packages`` that downloads, and a line naming it."""
    dirs = {name: work / name for name in ("lists", "cache", "parts", "prefs", "src")}
    for d in dirs.values():
        d.mkdir(parents=True)
    (dirs["lists"] / "partial").mkdir()
    (dirs["cache"] / "archives" / "partial").mkdir(parents=True)
    (work / "sources.list").write_text(f"deb-src [signed-by={KEYRING}] {mirror} sid main\n")
    opts = ["-o", f"Dir::Etc::SourceList={work / 'sources.list'}", "-o", f"Dir::Etc::SourceParts={dirs['parts']}",
            "-o", f"Dir::Etc::PreferencesParts={dirs['prefs']}", "-o", f"Dir::State::Lists={dirs['lists']}",
            "-o", f"Dir::Cache={dirs['cache']}", "-o", "APT::Sandbox::User=root", "-q"]
    update = subprocess.run(["apt-get", *opts, "update"], capture_output=True, text=True)
    if update.returncode != 0:
        raise GenerateError(f"apt-get update (sid deb-src) failed: {update.stderr.strip()[-400:]}")
    tried = []
    for package, version in _candidates(packages, opts):
        got = subprocess.run(["apt-get", *opts, "source", "--download-only", f"{package}={version}"],
                             cwd=dirs["src"], capture_output=True, text=True)
        origs = sorted(dirs["src"].glob(f"{package}_*.orig.tar.*"))
        if got.returncode == 0 and origs:
            data, upstream = _extract(origs[0])
            return data, (f"CPython {upstream} Misc/stable_abi.toml, from Debian sid's {package} "
                          f"{version} source package ({origs[0].name})")
        fetched = [line for line in got.stderr.splitlines() if "404" in line or line.startswith("E:")]
        tried.append(f"{package} {version}: {(fetched or ['no orig tarball'])[0].strip()}")
        print(f"stable-abi: {tried[-1]}; trying the next", file=sys.stderr)
    raise GenerateError("no source package could be downloaded: " + "; ".join(tried))


def _candidates(packages: tuple[str, ...], opts: list[str]) -> list[tuple[str, str]]:
    """(package, version) of every version the index lists, packages in order, newest version first
    (the index may list a version whose files the mirror has already dropped)."""
    found = []
    for package in packages:
        shown = subprocess.run(["apt-cache", *opts, "showsrc", "--only-source", package], capture_output=True, text=True)
        versions = set(re.findall(r"^Version: (\S+)$", shown.stdout, re.M))
        found += [(package, v) for v in sorted(versions, key=_version_key, reverse=True)]
    return found


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _extract(orig: Path) -> tuple[bytes, str]:
    """Only Misc/stable_abi.toml of the orig tarball, and the upstream version its top directory names."""
    with tarfile.open(orig) as tar:
        for member in tar:
            parts = member.name.split("/")
            if parts[1:] == ["Misc", "stable_abi.toml"] and member.isfile():
                stream = tar.extractfile(member)
                assert stream is not None
                m = re.fullmatch(r"Python-(\d+\.\d+\.\d+\w*)", parts[0])
                return stream.read(), m[1] if m else parts[0]
    raise GenerateError(f"{orig.name} holds no Misc/stable_abi.toml")


def make_record(toml_bytes: bytes, source: str) -> dict[str, object]:
    """The record: header lines, then one entry per item, sorted by name and kind."""
    try:
        doc = tomllib.loads(toml_bytes.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise GenerateError(f"not a readable TOML file: {e}") from e
    items: list[list[object]] = []
    for kind, entries in doc.items():
        if kind not in KINDS:
            raise GenerateError(f"unknown item kind {kind!r}: teach tools/stable-abi.py what it is")
        for name, fields in entries.items():
            unknown = sorted(set(fields) - set(KEPT) - set(DESCRIPTIVE))
            if unknown:
                raise GenerateError(f"{kind}.{name} has keys this script does not know: {', '.join(unknown)} "
                                    "(abi3t membership?): teach tools/stable-abi.py and the loader what they mean")
            added = fields.get("added")
            if kind != "feature_macro" and not (isinstance(added, str) and re.fullmatch(r"3\.\d+", added)):
                raise GenerateError(f"{kind}.{name}: 'added' is {added!r}, expected '3.N'")
            items.append([name, kind, added if kind != "feature_macro" else None,
                          bool(fields.get("abi_only", False)), fields.get("ifdef")])
    items.sort(key=lambda i: (str(i[0]), str(i[1])))
    return {
        "format": FORMAT,
        "source": source,
        "generator": "tools/stable-abi.py",
        "fields": ["name", "kind", "added", "abi_only", "ifdef"],
        # The source marks no abi3t membership: the script stops on keys it does not know.
        "abi3t": None,
        "items": items,
    }


def write_record(record: dict[str, object], out: Path) -> None:
    text = json.dumps(record, separators=(",", ":"))  # the header first, in make_record's order
    # One item per line: readable diffs when the record is regenerated.
    text = text.replace("],[", "],\n[")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toml", type=Path, help="a stable_abi.toml to read instead of fetching Debian's")
    parser.add_argument("--source", help="with --toml: the line naming it (e.g. 'CPython 3.15.2 Misc/stable_abi.toml')")
    parser.add_argument("--packages", default=",".join(PACKAGES), help="Debian source packages to try, newest first")
    parser.add_argument("--mirror", default=MIRROR)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        if args.toml:
            if not args.source:
                raise GenerateError("--toml needs --source naming the CPython version and where the file came from")
            data, source = args.toml.read_bytes(), args.source
        else:
            with tempfile.TemporaryDirectory(prefix="stable-abi-") as tmp:
                data, source = fetch_toml(tuple(args.packages.split(",")), args.mirror, Path(tmp))
        record = make_record(data, source)
    except (GenerateError, OSError) as e:
        print(f"stable-abi: error: {e}", file=sys.stderr)
        return 1
    write_record(record, args.out)
    items = record["items"]
    assert isinstance(items, list)
    print(f"stable-abi: wrote {args.out} ({len(items)} items) from {source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
