"""The wheel's software bill of materials: the host libraries manywheel put into it (PEP 770).

A scanner cannot see from the file names what a manywheel wheel carries from the build
host: libraries bundled under hashed names in ``<dist>.libs/`` and archives linked
statically into the modules.  This writes a CycloneDX 1.5 JSON document,
``<dist-info>/sboms/manywheel.cdx.json``, with one component per such library: the Debian
package that owns the host file (``dpkg-query``) and a ``pkg:deb`` purl (or, for a file a
build requirement installed, such as ``libcudart_static.a``, its Python distribution and a
``pkg:pypi`` purl), the wheel files that
contain it and how it got there; and the compiler, binutils and baseline as tools.  On a
host without ``dpkg-query`` (or for a file no package owns) a component names the file and
its SHA-256 only.  A wheel with no such library gets no SBOM: there is nothing in it a
scanner could miss.  Under ``SOURCE_DATE_EPOCH`` the document is byte-for-byte reproducible
(the serial number is derived from the content; the timestamp is the epoch).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

from .. import __version__
from ..wheel import Member, WheelContents, retag_filename

if TYPE_CHECKING:
    from .._wrapper.linklog import LinkEntry

SBOM_NAME = "manywheel.cdx.json"
SPEC_VERSION = "1.5"
_TIMEOUT = 60


@dataclass(frozen=True)
class Inclusion:
    """One host file whose code is in the wheel, and where."""

    source: str  # the host file: a shared library copied, or an archive linked
    how: str  # "bundled" or "static"
    files: tuple[str, ...]  # the wheel members that hold its code
    notes: tuple[str, ...]  # "bundled as pkg.libs/libffi-1a2b3c4d.so.8", "linked statically into pkg/_core.so"


@dataclass(frozen=True)
class DebPackage:
    """The Debian package that owns a host file."""

    name: str  # e.g. libyaml-dev
    version: str  # e.g. 0.2.5-1
    arch: str  # e.g. amd64 (or all)
    source: str  # the source package, e.g. libyaml
    source_version: str


@dataclass(frozen=True)
class PythonDistribution:
    """The Python distribution (installed in the build environment) that owns a file: an archive
    a build requirement ships, such as ``libcudart_static.a`` from ``nvidia-cuda-runtime``."""

    name: str
    version: str

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{self.name.lower().replace('_', '-').replace('.', '-')}@{self.version}"


@dataclass(frozen=True)
class Tool:
    """A tool that made the wheel's binaries."""

    kind: str  # CycloneDX component type: "application" or "platform"
    name: str
    version: str
    description: str
    package: DebPackage | None = None


class CompilerFacts(Protocol):
    """What the SBOM asks of the compiler that built the wheel (``toolchain.compiler.Compiler``)."""

    command: list[str]

    @property
    def version(self) -> str: ...

    @property
    def version_text(self) -> str: ...

    def print_prog_name(self, name: str) -> str: ...


@dataclass(frozen=True)
class BuiltFromSource:
    """A library manywheel built from source (``from-source``): whatever the wheel holds from under
    ``prefix`` is that library."""

    prefix: str
    package: str  # the Debian source package, or the local source's name
    version: str
    purl: str  # pkg:deb/debian/NAME@VERSION?arch=source, or "" for a local source
    built_for: str  # "manylinux_2_17_x86_64"
    origin: str  # where the source came from


def add_sbom(contents: WheelContents, bundled: Mapping[str, str], links: Sequence[LinkEntry], *, cc: CompilerFacts,
             environ: Mapping[str, str], baseline: str, tag: str, epoch: int | None,
             log: Callable[[str], None], aliases: Mapping[str, str] | None = None,
             built: Sequence[BuiltFromSource] = ()) -> WheelContents:
    """The wheel with its SBOM when it carries code from host libraries (``bundled``: wheel path in
    ``<dist>.libs`` -> host file; ``links``: the link log; ``tag``: the compressed platform tag it
    gets; ``baseline``: what the links were pinned to; ``aliases``: directory -> the name to write for
    it, so that no temporary path gets into the SBOM); as it is when it carries none."""
    inclusions = find_inclusions(contents, bundled, links)
    if not inclusions:
        return contents
    from_source = {i.source: b for i in inclusions for b in built if i.source.startswith(b.prefix.rstrip("/") + "/")}
    packages = find_packages([i.source for i in inclusions if i.source not in from_source], environ)
    python_owners = find_python_owners([i.source for i in inclusions
                                        if i.source not in (packages or {}) and i.source not in from_source])
    if packages is None:
        log("warning: no dpkg-query on this host: the SBOM names the bundled and statically linked libraries "
            "by file and SHA-256 only, without a package, version or purl")
    bom = make_sbom(contents, retag_filename(contents.filename, tag), inclusions, packages,
                    find_tools(cc, environ, baseline, tag), epoch=epoch, distro=read_distro(), aliases=aliases,
                    python_owners=python_owners, from_source=from_source)
    member = sbom_member(contents, bom)
    owners = {**{k: (v.name, v.version) for k, v in python_owners.items()},
              **{k: (v.name, v.version) for k, v in (packages or {}).items()},
              **{k: (v.package, v.version, "built from source") for k, v in from_source.items()}}
    shown = ", ".join(f"{os.path.basename(i.source)} ({' '.join(owners[i.source])})" if i.source in owners
                      else os.path.basename(i.source) for i in inclusions)
    log(f"SBOM {member.name}: {shown}")
    return replace(contents, members=tuple(m for m in contents.members if m.name != member.name) + (member,))


def find_inclusions(contents: WheelContents, bundled: Mapping[str, str], links: Sequence[LinkEntry]) -> list[Inclusion]:
    """The bundled libraries (``bundled``: wheel path in ``<dist>.libs`` -> host file) and the
    archives the links recorded as linked statically into a module of the wheel."""
    elf = [m.name for m in contents.members if m.data[:4] == b"\x7fELF"]
    found: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for path, source in sorted(bundled.items()):
        name = posixpath.basename(path).encode() + b"\0"
        users = sorted(m.name for m in contents.members if m.name != path and m.data[:4] == b"\x7fELF" and name in m.data)
        files, notes = found.setdefault((source, "bundled"), ([], []))
        files.append(path)
        notes.append(f"bundled as {path}" + (f" (needed by {', '.join(users)})" if users else ""))
    for link in links:
        for member in wheel_members_of(link["output"], elf):
            for archive in link["static"]:
                files, notes = found.setdefault((archive, "static"), ([], []))
                if member not in files:
                    files.append(member)
                    notes.append(f"linked statically into {member}")
    return [Inclusion(source, how, tuple(files), tuple(notes)) for (source, how), (files, notes) in sorted(found.items())]


def wheel_members_of(output: str, members: Iterable[str]) -> list[str]:
    """The wheel members a link's output became: same file name, and of those the ones whose
    path agrees with the output's in the most trailing directories."""
    parts = Path(output).parts
    scored: list[tuple[int, str]] = []
    for m in members:
        mparts = m.split("/")
        if mparts[-1] != parts[-1]:
            continue
        n = 1
        while n < min(len(mparts), len(parts)) and mparts[-1 - n] == parts[-1 - n]:
            n += 1
        scored.append((n, m))
    best = max((n for n, _ in scored), default=0)
    return sorted(m for n, m in scored if n == best)


def find_packages(paths: Iterable[str], environ: Mapping[str, str]) -> dict[str, DebPackage] | None:
    """The Debian package owning each host file (``dpkg-query -S``, then ``-W`` for versions); None
    when this host has no ``dpkg-query``.  A file no package owns is left out."""
    dpkg = shutil.which("dpkg-query", path=environ.get("PATH"))
    if dpkg is None:
        return None
    candidates = {p: _path_forms(p) for p in paths}
    every = sorted({c for forms in candidates.values() for c in forms})
    if not every:
        return {}
    owners: dict[str, str] = {}
    for line in _run([dpkg, "-S", *every], environ).splitlines():
        if line.startswith("diversion by"):
            continue
        pkgs, sep, path = line.partition(": ")
        if sep and path in every:
            owners[path] = pkgs.split(", ")[0]
    names = sorted(set(owners.values()))
    fields = "${binary:Package}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n"
    known: dict[str, DebPackage] = {}
    for line in _run([dpkg, "-W", "-f", fields, *names], environ).splitlines() if names else []:
        cols = line.split("\t")
        if len(cols) == 6 and cols[2]:
            known[cols[0]] = DebPackage(cols[1], cols[2], cols[3], cols[4] or cols[1], cols[5] or cols[2])
    result: dict[str, DebPackage] = {}
    for path, forms in candidates.items():
        owner = next((owners[f] for f in forms if f in owners), None)
        if owner is not None and owner in known:
            result[path] = known[owner]
    return result


def find_python_owners(paths: Iterable[str]) -> dict[str, PythonDistribution]:
    """The Python distribution installed in this (the build) environment that owns each file, from
    the distributions' RECORDs; a file none owns is left out."""
    wanted = {os.path.realpath(p): p for p in paths}
    found: dict[str, PythonDistribution] = {}
    if not wanted:
        return found
    import importlib.metadata  # only when files came from outside the project

    for dist in importlib.metadata.distributions():
        for f in dist.files or ():
            if not str(f).endswith((".a", ".so")) and ".so." not in str(f):
                continue
            owner = wanted.get(os.path.realpath(str(dist.locate_file(f))))
            if owner is not None and owner not in found:
                found[owner] = PythonDistribution(dist.metadata["Name"], dist.version)
    return found


def _path_forms(path: str) -> list[str]:
    """The names dpkg may know a file by: as given, resolved, and across the merged-/usr symlinks."""
    forms: list[str] = []
    for p in (os.path.normpath(path), os.path.realpath(path)):
        for q in (p, p[4:] if p.startswith("/usr/lib") else "/usr" + p if p.startswith("/lib") else p):
            if q not in forms:
                forms.append(q)
    return forms


def _run(cmd: list[str], environ: Mapping[str, str]) -> str:
    """stdout of ``cmd`` ("" if it cannot run); dpkg-query exits 1 when some path has no owner, which is fine."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, env=dict(environ))
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout


def find_tools(cc: CompilerFacts, environ: Mapping[str, str], baseline: str, tag: str) -> list[Tool]:
    """The compiler and the linker (with their Debian packages) and the baseline the links were pinned to."""
    # After any launcher, before any option.
    command = next((w for w in reversed(cc.command) if not w.startswith("-")), "cc")
    compiler = _program(command, environ)
    linker = _program(cc.print_prog_name("ld") or "ld", environ)
    paths = [p for p in (compiler, linker) if p]
    packages = find_packages(paths, environ) or {}
    tools = [Tool("application", "manywheel", __version__, "the PEP 517 backend that built and tagged the wheel")]
    if compiler:
        version = cc.version or _first_line(cc.version_text)
        tools.append(Tool("application", os.path.basename(command), version, f"the C compiler ({compiler})",
                          packages.get(compiler)))
    if linker:
        package = packages.get(linker)
        version = package.source_version if package else _first_line(_run([linker, "--version"], environ)).split(" ")[-1]
        tools.append(Tool("application", "binutils", version, f"the linker ({linker})", package))
    tools.append(Tool("platform", "manylinux baseline", tag.split(".")[0], baseline))
    return tools


def _program(name: str, environ: Mapping[str, str]) -> str | None:
    path = name if os.path.isabs(name) else shutil.which(name, path=environ.get("PATH"))
    return os.path.realpath(path) if path and os.path.exists(path) else None


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def read_distro(path: Path = Path("/etc/os-release")) -> tuple[str, str | None]:
    """The purl namespace (``debian``) and ``distro`` qualifier (``debian-12``) of this host."""
    values: dict[str, str] = {}
    try:
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key] = value.strip().strip('"')
    except OSError:
        pass
    namespace = values.get("ID") or "debian"
    return namespace, f"{namespace}-{values['VERSION_ID']}" if values.get("VERSION_ID") else None


def purl(package: DebPackage, namespace: str, distro: str | None) -> str:
    """``pkg:deb/debian/libyaml-dev@0.2.5-1?arch=amd64&distro=debian-12`` (qualifiers sorted, as the purl spec asks)."""
    version = package.version.replace("+", "%2B").replace(":", "%3A")
    return f"pkg:deb/{namespace}/{package.name}@{version}?arch={package.arch}" + (f"&distro={distro}" if distro else "")


def make_sbom(contents: WheelContents, wheel_name: str, inclusions: Sequence[Inclusion], packages: Mapping[str, DebPackage] | None,
              tools: Sequence[Tool], *, epoch: int | None, distro: tuple[str, str | None] = ("debian", None),
              aliases: Mapping[str, str] | None = None,
              python_owners: Mapping[str, PythonDistribution] | None = None,
              from_source: Mapping[str, BuiltFromSource] | None = None) -> dict[str, Any]:
    """The CycloneDX 1.5 document for the wheel ``wheel_name`` (``packages`` None: the host had no dpkg-query)."""
    name, version = contents.dist_info[:-len(".dist-info")].split("-", 1)
    root_ref = f"pkg:pypi/{name.lower().replace('_', '-')}@{version}?file_name={wheel_name}"
    components = sorted((_component(i, (packages or {}).get(i.source), packages is None, distro, aliases or {},
                                    (python_owners or {}).get(i.source), (from_source or {}).get(i.source))
                         for i in inclusions),
                        key=lambda c: str(c["bom-ref"]))
    bom: dict[str, Any] = {
        "$schema": f"http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": "",
        "version": 1,
        "metadata": {
            "timestamp": "",
            "tools": {"components": [_tool(t, distro) for t in tools]},
            "component": {"type": "library", "bom-ref": root_ref, "name": name, "version": version, "purl": root_ref},
        },
        "components": components,
        "dependencies": [{"ref": root_ref, "dependsOn": [c["bom-ref"] for c in components]}]
                        + [{"ref": c["bom-ref"]} for c in components],
    }
    # Never random: the serial number is the content's, and the time SOURCE_DATE_EPOCH's when set.
    bom["serialNumber"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'manywheel:' + json.dumps(bom, sort_keys=True))}"
    when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch is not None else \
        datetime.datetime.now(datetime.timezone.utc)
    bom["metadata"]["timestamp"] = when.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return bom


def _component(inc: Inclusion, package: DebPackage | None, no_dpkg: bool, distro: tuple[str, str | None],
               aliases: Mapping[str, str], python_owner: PythonDistribution | None = None,
               built: BuiltFromSource | None = None) -> dict[str, Any]:
    file = os.path.basename(inc.source)
    shown = _shown(inc.source, aliases)
    notes = list(inc.notes)
    if built is not None:
        source = f"Debian's source package {built.package} {built.version}" if built.purl else built.origin
        notes.insert(0, f"{file}: built from source by manywheel for {built.built_for} ({source})")
    properties = [{"name": "manywheel:inclusion", "value": n} for n in notes]
    properties.append({"name": "manywheel:host-file", "value": shown})
    component: dict[str, Any] = {"type": "library", "bom-ref": f"file:{shown}#{inc.how}", "name": file}
    if built is not None:
        ref = built.purl or f"file:{shown}"
        component.update({"bom-ref": f"{ref}#{file}", "name": built.package, "version": built.version,
                          "description": f"{file}, built from source by manywheel for {built.built_for}"})
        if built.purl:
            component["purl"] = built.purl
        properties.append({"name": "manywheel:built-from-source", "value": f"{built.package} {built.version} "
                                                                            f"for {built.built_for}"})
    elif package is not None:
        ref = purl(package, *distro)
        component.update({"bom-ref": f"{ref}#{file}", "name": package.name, "version": package.version, "purl": ref,
                          "description": f"{file} from the Debian package {package.name} (source {package.source})"})
        properties.append({"name": "manywheel:deb-source", "value": f"{package.source} {package.source_version}"})
    elif python_owner is not None:
        ref = python_owner.purl
        component.update({"bom-ref": f"{ref}#{file}", "name": python_owner.name, "version": python_owner.version,
                          "purl": ref, "description": f"{file} from the Python distribution {python_owner.name}, "
                                                     f"a build requirement"})
    else:
        component["description"] = file + (": no dpkg-query on the build host, the package is unknown" if no_dpkg
                                           else ": owned by no Debian package on the build host")
    digest = _sha256(inc.source)
    if digest:
        component["hashes"] = [{"alg": "SHA-256", "content": digest}]
    component["evidence"] = {"occurrences": [{"location": f} for f in inc.files]}
    component["properties"] = properties
    return component


def _shown(path: str, aliases: Mapping[str, str]) -> str:
    """``path`` with the longest aliased directory replaced (the project, the temporary build tree)."""
    for prefix in sorted(aliases, key=len, reverse=True):
        if path.startswith(prefix.rstrip("/") + "/"):
            return aliases[prefix] + path[len(prefix.rstrip("/")):]
    return path


def _tool(tool: Tool, distro: tuple[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": tool.kind, "name": tool.name, "version": tool.version, "description": tool.description}
    if tool.package is not None:
        out["purl"] = purl(tool.package, *distro)
    return out


def _sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def sbom_member(contents: WheelContents, bom: Mapping[str, Any]) -> Member:
    """The SBOM as the wheel member ``<dist-info>/sboms/manywheel.cdx.json``."""
    stamp = contents.members[0].date_time if contents.members else (1980, 1, 1, 0, 0, 0)
    data = (json.dumps(bom, indent=2) + "\n").encode("utf-8")
    return Member(f"{contents.dist_info}/sboms/{SBOM_NAME}", data, False, stamp)
