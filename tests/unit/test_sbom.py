"""The SBOM: what the wrapper records, what the writer makes of it, and what `manywheel check` reads back.

One real link through the real wrapper: a module that links Debian's libyaml.a (libyaml-dev)
and a PIC archive made here statically, and bundles a shared-only library made here.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel._wrapper import linklog
from manywheel.repair.bundle import bundle_libraries, bundled_in
from manywheel.check.sboms import Sbom, parse_sbom, read_sboms
from manywheel.errors import WheelError
from manywheel.repair.sbom import (DebPackage, add_sbom, find_inclusions, find_packages, make_sbom, purl, read_distro,
                            wheel_members_of)
from manywheel.toolchain.wrappers import LibraryRules, make_toolchain
from manywheel.wheel import WheelContents, read_wheel, write_wheel
from tests.common import import_or_skip, skip_missing

LIBYAML = Path("/usr/lib/x86_64-linux-gnu/libyaml.a")
MODULE = "pkg/_m.cpython-311-x86_64-linux-gnu.so"
TAG = "manylinux_2_17_x86_64.manylinux2014_x86_64"
EPOCH = 1700000000


def cyclonedx_validator(version: str = "1.5") -> Any:
    """A validator for the CycloneDX JSON schema shipped in cyclonedx-python-lib, with the spdx and jsf
    schemas it references registered under the URIs the refs resolve to (no network)."""
    jsonschema = import_or_skip("jsonschema", "jsonschema is not installed (tests/requirements.txt)")
    referencing = import_or_skip("referencing", "referencing (jsonschema >= 4.18) is not installed")
    cyclonedx = import_or_skip("cyclonedx", "cyclonedx-python-lib is not installed (tests/requirements.txt)")
    assert cyclonedx.__file__ is not None
    res = pathlib.Path(cyclonedx.__file__).parent / "schema" / "_res"
    schema = json.loads((res / f"bom-{version}.SNAPSHOT.schema.json").read_text())
    resources = []
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        contents = json.loads((res / name).read_text())
        resource = referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT7)
        # The bom schema's refs are relative ("spdx.SNAPSHOT.schema.json"): resolved against its $id.
        resources += [(f"http://cyclonedx.org/schema/{name}", resource), (contents["$id"], resource)]
    registry = referencing.Registry().with_resources(resources)
    return jsonschema.Draft7Validator(schema, registry=registry)


def schema_errors(bom: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in cyclonedx_validator().iter_errors(bom)]


@dataclass(frozen=True)
class Built:
    tmp: Path
    toolchain_dir: Path
    link_log: Path
    cc: list[str]
    libdir: Path
    inner_wheel: Path


def dpkg(*args: str) -> str:
    return subprocess.run(["dpkg-query", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """pkg/_m...so, linked through the wrapper with -lyaml -lboth (static) and -ldemo (bundled), in an inner wheel."""
    if not LIBYAML.exists():
        skip_missing(f"{LIBYAML} is missing: apt-get install libyaml-dev")
    tmp = tmp_path_factory.mktemp("sbom")
    libdir = tmp / "lib"
    libdir.mkdir()
    (libdir / "demo.c").write_text("int demo(int n) { return n + 1; }\n")
    (libdir / "both.c").write_text("int both(int n) { return n * 2; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-o", str(libdir / "libdemo.so.1"),
                    str(libdir / "demo.c")], check=True)
    (libdir / "libdemo.so").symlink_to("libdemo.so.1")
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(libdir / "both.o"), str(libdir / "both.c")], check=True)
    subprocess.run(["ar", "rcs", str(libdir / "libboth_pic.a"), str(libdir / "both.o")], check=True)
    chain = make_toolchain(tmp / "tc", Compilers.find(dict(os.environ)), None, project=tmp, verbose=False,
                           libraries=LibraryRules(frozenset({"c", "m"})))
    src = tmp / "m.c"
    src.write_text('#include <yaml.h>\nint demo(int); int both(int);\n'
                   'const char *v(void) { return yaml_get_version_string(); }\n'
                   'int f(int n) { return demo(n) + both(n); }\n')
    out = tmp / "build" / MODULE
    out.parent.mkdir(parents=True)
    proc = subprocess.run([chain.env["CC"], "-shared", "-fPIC", str(src), "-lyaml", f"-L{libdir}", "-lboth", "-ldemo",
                           "-o", str(out)], env=dict(os.environ, **chain.env), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    inner = tmp / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr(MODULE, out.read_bytes())
        zf.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
        zf.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n")
        zf.writestr("pkg-1.0.dist-info/RECORD", "")
    return Built(tmp, tmp / "tc", chain.link_log, chain.cc, libdir, inner)


def with_sbom(built: Built, environ: dict[str, str] | None = None, logged: list[str] | None = None) -> WheelContents:
    bundled = bundled_in(linklog.read(built.link_log))
    contents, added = bundle_libraries(read_wheel(built.inner_wheel), bundled)
    return add_sbom(contents, {p: bundled[p.rsplit("/", 1)[1]].source for p in added}, linklog.read(built.link_log),
                    cc=Compiler(built.cc, dict(os.environ)), environ=environ if environ is not None else dict(os.environ), tag=TAG,
                    baseline="pinned to glibc 2.17 (test)", epoch=EPOCH,
                    log=(logged if logged is not None else []).append)


def the_sbom(contents: WheelContents) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(contents.member("pkg-1.0.dist-info/sboms/manywheel.cdx.json").data)
    return data


def test_the_link_log_records_each_archive_linked_statically(built: Built) -> None:
    [entry] = linklog.read(built.link_log)
    assert entry["static"] == [str(LIBYAML), str(built.libdir / "libboth_pic.a")]
    assert [b["source"] for b in entry["bundled"]] == [str(built.libdir / "libdemo.so.1")]


@pytest.mark.parametrize(("line", "kept"), [
    ({"output": "/o.so", "inputs": [], "cwd": "/", "bundled": [], "static": ["/x.a"]}, True),
    ({"output": "/o.so", "inputs": [], "cwd": "/", "bundled": []}, True),
    ({"output": "/o.so", "inputs": [], "cwd": "/", "bundled": [], "static": [1]}, False),
    ({"output": "/o.so", "inputs": [], "cwd": "/", "bundled": [], "static": "/x.a"}, False)])
def test_the_link_log_checks_the_static_field(tmp_path: Path, line: dict[str, object], kept: bool) -> None:
    (tmp_path / "links.jsonl").write_text(json.dumps(line) + "\n")
    entries = linklog.read(tmp_path / "links.jsonl")
    assert len(entries) == int(kept)
    assert not kept or entries[0]["static"] == line.get("static", [])


def test_the_sbom_names_each_library_with_its_debian_package_and_how_it_got_in(built: Built) -> None:
    bom = the_sbom(with_sbom(built))
    by_file = {next(p["value"] for p in c["properties"] if p["name"] == "manywheel:host-file"): c for c in bom["components"]}
    owner = subprocess.run(["dpkg", "-S", str(LIBYAML)], capture_output=True, text=True, check=True).stdout
    package = owner.split(":")[0]
    assert package == "libyaml-dev"
    version, arch = dpkg("-W", "-f", "${Version}\t${Architecture}", package).split("\t")
    yaml = by_file[str(LIBYAML)]
    assert (yaml["name"], yaml["version"]) == (package, version)
    assert yaml["purl"] == f"pkg:deb/debian/{package}@{version}?arch={arch}&distro=debian-12"
    assert yaml["evidence"]["occurrences"] == [{"location": MODULE}]
    assert {"name": "manywheel:inclusion", "value": f"linked statically into {MODULE}"} in yaml["properties"]

    both = by_file[str(built.libdir / "libboth_pic.a")]
    assert both["name"] == "libboth_pic.a" and "purl" not in both and "version" not in both
    assert "owned by no Debian package" in both["description"]
    demo = by_file[str(built.libdir / "libdemo.so.1")]
    [location] = [o["location"] for o in demo["evidence"]["occurrences"]]
    assert location.startswith("pkg.libs/libdemo-") and location.endswith(".so.1")
    assert {"name": "manywheel:inclusion", "value": f"bundled as {location} (needed by {MODULE})"} in demo["properties"]
    assert bom["metadata"]["component"]["purl"] == f"pkg:pypi/pkg@1.0?file_name=pkg-1.0-cp311-cp311-{TAG}.whl"
    assert sorted(bom["dependencies"][0]["dependsOn"]) == sorted(c["bom-ref"] for c in bom["components"])


def test_the_tools_are_the_compiler_binutils_and_the_baseline_with_their_packages(built: Built) -> None:
    tools = {t["name"]: t for t in the_sbom(with_sbom(built))["metadata"]["tools"]["components"]}
    binutils_package = subprocess.run(["dpkg", "-S", os.path.realpath("/usr/bin/ld")], capture_output=True, text=True,
                                      check=True).stdout.split(":")[0]
    assert tools["binutils"]["version"] == dpkg("-W", "-f", "${Version}", binutils_package)
    assert tools["binutils"]["purl"].startswith(f"pkg:deb/debian/{binutils_package}@")
    compiler = tools[os.path.basename(built.cc[-1])]
    assert compiler["version"] == subprocess.run([*built.cc, "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    assert compiler["purl"].startswith("pkg:deb/debian/gcc-")
    assert tools["manylinux baseline"] == {"type": "platform", "name": "manylinux baseline",
                                           "version": "manylinux_2_17_x86_64", "description": "pinned to glibc 2.17 (test)"}
    assert "manywheel" in tools


def test_the_sbom_meets_the_cyclonedx_1_5_schema(built: Built) -> None:
    bom = the_sbom(with_sbom(built))
    assert bom["specVersion"] == "1.5"
    assert schema_errors(bom) == []


def test_the_schema_check_catches_a_broken_sbom(built: Built) -> None:
    bom = the_sbom(with_sbom(built))
    bom["components"][0]["type"] = "lib"
    del bom["components"][1]["name"]
    assert len(schema_errors(bom)) == 2


def test_without_dpkg_the_sbom_names_files_and_hashes_only_and_says_why(built: Built, tmp_path: Path) -> None:
    logged: list[str] = []
    bom = the_sbom(with_sbom(built, {"PATH": str(tmp_path)}, logged))
    assert any("no dpkg-query on this host" in line for line in logged), logged
    assert all("purl" not in c and "version" not in c for c in bom["components"])
    assert all("no dpkg-query on the build host" in c["description"] for c in bom["components"])
    yaml = next(c for c in bom["components"] if c["name"] == "libyaml.a")
    assert yaml["hashes"][0]["content"] == hashlib.sha256(LIBYAML.read_bytes()).hexdigest()
    assert schema_errors(bom) == []


def test_the_sbom_is_reproducible_and_listed_in_record(built: Built, tmp_path: Path) -> None:
    first, second = with_sbom(built), with_sbom(built)
    bom = the_sbom(first)
    assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert first == second
    wheels = [write_wheel(c, tmp_path / d, TAG.split("."), EPOCH) for c, d in ((first, "a"), (second, "b"))]
    assert wheels[0].read_bytes() == wheels[1].read_bytes()
    with zipfile.ZipFile(wheels[0]) as zf:
        record = zf.read("pkg-1.0.dist-info/RECORD").decode()
    assert "pkg-1.0.dist-info/sboms/manywheel.cdx.json,sha256=" in record


def test_no_temporary_path_gets_into_the_sbom(built: Built) -> None:
    bundled = bundled_in(linklog.read(built.link_log))
    contents, added = bundle_libraries(read_wheel(built.inner_wheel), bundled)
    bom = the_sbom(add_sbom(contents, {p: bundled[p.rsplit("/", 1)[1]].source for p in added},
                            linklog.read(built.link_log), cc=Compiler(built.cc, dict(os.environ)), environ=dict(os.environ), tag=TAG, baseline="",
                            epoch=EPOCH, log=print, aliases={str(built.tmp): "<project>", str(built.libdir): "<lib>"}))
    text = json.dumps(bom)
    assert str(built.tmp) not in text
    assert {"name": "manywheel:host-file", "value": "<lib>/libboth_pic.a"} in [
        p for c in bom["components"] for p in c["properties"]]


def test_a_wheel_without_external_code_gets_no_sbom(built: Built) -> None:
    contents = read_wheel(built.inner_wheel)
    links: list[linklog.LinkEntry] = [{"output": str(built.tmp / "build" / MODULE), "inputs": [], "cwd": "/",
                                       "bundled": [], "static": []}]
    assert add_sbom(contents, {}, links, cc=Compiler(built.cc, dict(os.environ)), environ=dict(os.environ), tag=TAG, baseline="",
                    epoch=EPOCH, log=print) is contents


def test_a_link_that_is_not_in_the_wheel_adds_nothing(built: Built) -> None:
    links: list[linklog.LinkEntry] = [{"output": "/tmp/conftest.so", "inputs": [], "cwd": "/", "bundled": [],
                                       "static": [str(LIBYAML)]}]
    assert find_inclusions(read_wheel(built.inner_wheel), {}, links) == []


@pytest.mark.parametrize(("output", "expected"), [
    ("/b/lib.linux-x86_64-cpython-311/pkg/_m.so", ["pkg/_m.so"]),
    ("/b/lib/other/_m.so", ["other/_m.so"]),
    ("/b/_m.so", ["other/_m.so", "pkg/_m.so"]),  # nothing but the name to go on: every candidate
    ("/b/pkg/_x.so", [])])
def test_a_link_output_maps_to_the_wheel_member_with_the_longest_common_path(output: str, expected: list[str]) -> None:
    assert wheel_members_of(output, ["pkg/_m.so", "other/_m.so", "pkg/__init__.py"]) == expected


def test_find_packages_agrees_with_dpkg_and_leaves_out_unowned_files(tmp_path: Path) -> None:
    libc = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")  # through the merged-/usr symlink
    stray = tmp_path / "libstray.a"
    stray.write_bytes(b"!<arch>\n")
    found = find_packages([libc, str(stray)], dict(os.environ))
    assert found is not None and set(found) == {libc}
    assert (found[libc].name, found[libc].version) == ("libc6", dpkg("-W", "-f", "${Version}", "libc6:amd64"))
    assert found[libc].source == "glibc"
    assert find_packages([libc], {"PATH": str(tmp_path)}) is None


@pytest.mark.parametrize(("package", "expected"), [
    (DebPackage("libyaml-dev", "0.2.5-1", "amd64", "libyaml", "0.2.5-1"),
     "pkg:deb/debian/libyaml-dev@0.2.5-1?arch=amd64&distro=debian-12"),
    (DebPackage("gcc-12", "12.2.0-14+deb12u1", "amd64", "gcc-12", "12.2.0-14+deb12u1"),
     "pkg:deb/debian/gcc-12@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"),
    (DebPackage("libx", "1:2.0-1", "all", "x", "1:2.0-1"), "pkg:deb/debian/libx@1%3A2.0-1?arch=all&distro=debian-12")])
def test_purls_encode_the_version(package: DebPackage, expected: str) -> None:
    assert purl(package, "debian", "debian-12") == expected


def test_read_distro(tmp_path: Path) -> None:
    (tmp_path / "os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')
    assert read_distro(tmp_path / "os-release") == ("debian", "debian-12")
    assert read_distro(tmp_path / "missing") == ("debian", None)


def test_make_sbom_serial_number_follows_the_content(built: Built) -> None:
    contents = read_wheel(built.inner_wheel)
    inclusions = find_inclusions(contents, {}, linklog.read(built.link_log))
    a = make_sbom(contents, "w.whl", inclusions, {}, [], epoch=EPOCH)
    b = make_sbom(contents, "w.whl", inclusions[:1], {}, [], epoch=EPOCH)
    assert a["serialNumber"] == make_sbom(contents, "w.whl", inclusions, {}, [], epoch=EPOCH)["serialNumber"]
    assert a["serialNumber"] != b["serialNumber"]


# The reader: any producer.

AUDITWHEEL_14 = {
    "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
    "metadata": {"component": {"type": "library", "bom-ref": "pkg:pypi/x@1", "name": "x", "version": "1"},
                 "tools": [{"name": "auditwheel", "version": "6.8.2"}]},
    "components": [{"type": "library", "bom-ref": "pkg:pypi/x@1", "name": "x", "version": "1"},
                   {"type": "library", "bom-ref": "r", "name": "libXau", "version": "1.0.9-3.el8",
                    "purl": "pkg:rpm/almalinux/libXau@1.0.9-3.el8",
                    "components": [{"type": "library", "name": "nested"}]}]}
SPDX = {"spdxVersion": "SPDX-2.3", "creationInfo": {"creators": ["Tool: maturin-1.8", "Organization: x"]},
        "packages": [{"name": "openssl", "versionInfo": "3.0.2",
                      "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:generic/openssl@3.0.2"}]}]}


@pytest.mark.parametrize(("doc", "expected"), [
    (AUDITWHEEL_14, ("CycloneDX 1.4", ("auditwheel 6.8.2",),
                     [("libXau", "1.0.9-3.el8", "pkg:rpm/almalinux/libXau@1.0.9-3.el8"), ("nested", None, None)])),
    (SPDX, ("SPDX-2.3", ("maturin-1.8",), [("openssl", "3.0.2", "pkg:generic/openssl@3.0.2")])),
    ({"bomFormat": "CycloneDX", "metadata": {"tools": {"components": [{"name": "t"}]}}, "components": [{"version": 3}]},
     ("CycloneDX", ("t",), [("(unnamed)", None, None)])),
    ({"bomFormat": "CycloneDX", "metadata": [], "components": {"not": "a list"}}, ("CycloneDX", (), [])),
    ([1, 2], ("unknown", (), [])),
    ({"something": "else"}, ("unknown", (), []))])
def test_the_reader_takes_any_producer_and_skips_what_it_cannot_use(doc: object, expected: tuple[Any, ...]) -> None:
    sbom = parse_sbom("x-1.dist-info/sboms/a.json", json.dumps(doc).encode())
    assert (sbom.format, sbom.tools, [(c.name, c.version, c.purl) for c in sbom.components]) == expected


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe\x00", b""])
def test_an_sbom_that_is_not_json_is_an_error_naming_the_member(data: bytes) -> None:
    with pytest.raises(WheelError, match=r"^x-1\.dist-info/sboms/bad\.cdx\.json: the SBOM is not valid JSON"):
        parse_sbom("x-1.dist-info/sboms/bad.cdx.json", data)


def manywheel_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "manywheel", "check", *args], capture_output=True, text=True)


def test_check_prints_and_returns_the_components_next_to_the_verdict(built: Built, tmp_path: Path) -> None:
    wheel = write_wheel(with_sbom(built), tmp_path, ["linux_x86_64"], EPOCH)
    proc = manywheel_check(str(wheel))
    assert proc.returncode == 0, proc.stderr
    assert "  SBOM manywheel.cdx.json (CycloneDX 1.5, by manywheel" in proc.stdout
    version = dpkg("-W", "-f", "${Version}", "libyaml-dev")
    assert f"    libyaml-dev {version} (pkg:deb/debian/libyaml-dev@{version}?arch=amd64&distro=debian-12)\n" \
           f"      linked statically into {MODULE}" in proc.stdout
    as_json = manywheel_check("--json", str(wheel))
    [result] = json.loads(as_json.stdout)
    [sbom] = result["sboms"]
    assert sbom["member"] == "pkg-1.0.dist-info/sboms/manywheel.cdx.json" and sbom["format"] == "CycloneDX 1.5"
    assert {c["name"] for c in sbom["components"]} == {"libyaml-dev", "libboth_pic.a", "libdemo.so.1"}
    assert [s.member for s in read_sboms(wheel)] == [sbom["member"]]


def test_check_exits_2_naming_a_broken_sbom(built: Built, tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    buf = io.BytesIO(built.inner_wheel.read_bytes())
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("pkg-1.0.dist-info/sboms/broken.cdx.json", "{\"bomFormat\": ")
    wheel.write_bytes(buf.getvalue())
    proc = manywheel_check(str(wheel))
    assert proc.returncode == 2
    assert proc.stderr.startswith("manywheel: error: pkg-1.0.dist-info/sboms/broken.cdx.json: the SBOM is not valid JSON")
    assert "Traceback" not in proc.stderr


def test_a_shared_object_or_a_wheel_without_sboms_has_none(built: Built) -> None:
    assert read_sboms(built.inner_wheel) == []
    assert read_sboms(built.tmp / "build" / MODULE) == []
    assert isinstance(parse_sbom("a.json", b"{}"), Sbom)
