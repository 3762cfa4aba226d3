"""Issue #18: every library a wheel carries from the host, in its PEP 770 SBOM.

Real builds (the extlibs sample project; pyyaml and cffi from their published sdists), the
SBOM's packages compared with `dpkg -S` / `dpkg-query -W` run here, checked against the
CycloneDX 1.5 schema; and `manywheel check` on a PyPI wheel that auditwheel repaired.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.common import PROJECTS, copy_project
from tests.integration.helpers import only_wheel, python_build
from tests.integration.test_extlibs import add_demo_library
from tests.realworld import steps
from tests.unit.test_sbom import schema_errors

pytestmark = [pytest.mark.slow]
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
EPOCH = "1700000000"
# A manylinux wheel repaired by auditwheel 6.8.2, with its auditwheel.cdx.json (and Pillow's own SBOM).
PILLOW = {"project": "pillow", "version": "13.0.0",
          "file": "pillow-13.0.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
          "sha256": "a625df9a2a5597fa5e5266e01aefc82604bb85d291e3547981e863560d75da6c"}


@pytest.fixture(scope="module", autouse=True)
def dev_packages() -> None:
    missing = [p for p in ("libyaml.a", "libffi_pic.a", "libyaml.so", "libffi.so") if not (LIBDIR / p).exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing in {LIBDIR}: apt-get install libyaml-dev libffi-dev")


def sbom_of(wheel: Path) -> dict[str, Any]:
    """manywheel's SBOM of the wheel, which RECORD must list."""
    with zipfile.ZipFile(wheel) as zf:
        [name] = [n for n in zf.namelist() if n.endswith(".dist-info/sboms/manywheel.cdx.json")]
        record = zf.read(name.split("/")[0] + "/RECORD").decode()
        assert f"\n{name},sha256=" in "\n" + record, record
        data: dict[str, Any] = json.loads(zf.read(name))
    return data


def host_file(component: dict[str, Any]) -> str:
    return str(next(p["value"] for p in component["properties"] if p["name"] == "manywheel:host-file"))


def how(component: dict[str, Any]) -> list[str]:
    return [p["value"] for p in component["properties"] if p["name"] == "manywheel:inclusion"]


def dpkg_owner(path: str) -> tuple[str, str]:
    """(package, version) owning ``path``, as dpkg says."""
    owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=True).stdout
    package = owner.split(": ")[0].split(", ")[0]
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                             check=True).stdout
    return package.split(":")[0], version


def assert_debian_components(bom: dict[str, Any], expected_packages: set[str]) -> None:
    """Each component owned by a package names it and its version as dpkg does; the expected ones are there."""
    seen = set()
    for c in bom["components"]:
        if "purl" not in c:
            continue
        package, version = dpkg_owner(host_file(c))
        assert (c["name"], c["version"]) == (package, version), c
        assert c["purl"].startswith(f"pkg:deb/debian/{package}@"), c["purl"]
        seen.add(package)
    assert expected_packages <= seen, (expected_packages, seen)
    assert schema_errors(bom) == []


def test_static_and_unowned_bundled_libraries_are_declared_and_the_wheel_is_reproducible(
        tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "extlibs", tmp_path)
    add_demo_library(project)
    env = dict(build_env, SOURCE_DATE_EPOCH=EPOCH)
    wheels = []
    for out in ("dist1", "dist2"):
        python_build(project, tmp_path / out, env)
        wheels.append(only_wheel(tmp_path / out))
    assert wheels[0].read_bytes() == wheels[1].read_bytes(), "two builds with the same SOURCE_DATE_EPOCH differ"
    bom = sbom_of(wheels[0])
    assert_debian_components(bom, {"libyaml-dev", "libffi-dev"})
    by_name = {c["name"]: c for c in bom["components"]}
    assert set(by_name) == {"libyaml-dev", "libffi-dev", "libmwdemo.so.1"}
    core = next(c["evidence"]["occurrences"][0]["location"] for c in bom["components"] if c["name"] == "libyaml-dev")
    assert core.startswith("mw_extlibs/_core.") and how(by_name["libffi-dev"]) == [f"linked statically into {core}"]
    demo = by_name["libmwdemo.so.1"]
    assert "purl" not in demo and "owned by no Debian package" in demo["description"]
    assert host_file(demo) == "<project>/vendor/libmwdemo.so.1"
    assert how(demo)[0].startswith("bundled as mw_extlibs.libs/libmwdemo-") and "(needed by mw_extlibs/_demo." in how(demo)[0]
    assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert str(tmp_path) not in json.dumps(bom)

    proc = subprocess.run([sys.executable, "-m", "manywheel", "check", str(wheels[0])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SBOM manywheel.cdx.json (CycloneDX 1.5, by manywheel" in proc.stdout
    for name in ("libyaml-dev", "libffi-dev"):
        assert f"    {name} {by_name[name]['version']} (pkg:deb/debian/{name}@" in proc.stdout


def test_bundled_debian_libraries_name_their_runtime_packages(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    python_build(copy_project(PROJECTS / "extlibs", tmp_path), out, build_env, "-C", "manywheel.bundle=yaml,ffi")
    bom = sbom_of(only_wheel(out))
    assert_debian_components(bom, {"libyaml-0-2", "libffi8"})
    for c in bom["components"]:
        assert len(how(c)) == 1 and how(c)[0].startswith("bundled as mw_extlibs.libs/lib"), how(c)
        assert [o["location"] for o in c["evidence"]["occurrences"]] == [how(c)[0].split()[2]]


@pytest.mark.realworld
@pytest.mark.parametrize(("name", "settings", "packages", "way"), [
    ("pyyaml", {}, {"libyaml-dev"}, "linked statically into yaml/_yaml."),
    ("cffi", {"bundle": ["ffi"]}, {"libffi8"}, "bundled as cffi.libs/libffi-")])
def test_real_sdists_declare_what_they_link(tmp_path: Path, build_env: dict[str, str], name: str,
                                            settings: dict[str, object], packages: set[str], way: str) -> None:
    python = steps.find_python("3.11")
    if python is None:
        pytest.skip("no host CPython 3.11 with the 'build' package")
    project = steps.load_projects()[name]
    project = dataclasses.replace(project, manywheel={**project.manywheel, **settings})
    src = steps.unpack_sdist(steps.fetch_sdist(project), tmp_path / "src")
    steps.apply_swap(src, project)
    wheel = steps.build_wheel(src, tmp_path / "dist", python, {**build_env, **project.env}, tmp_path / "build.log").wheel
    bom = sbom_of(wheel)
    assert_debian_components(bom, packages)
    assert [c["name"] for c in bom["components"]] == sorted(packages)
    assert how(bom["components"][0])[0].startswith(way), how(bom["components"][0])


def pypi_wheel(entry: dict[str, str]) -> Path:
    """The wheel, downloaded once into the realworld cache and checked by hash."""
    target = steps.CACHE / "wheels" / entry["file"]
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == entry["sha256"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        steps.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                   "--python-version", "3.11", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
                   "--dest", tmp, f"{entry['project']}=={entry['version']}"])
        got = Path(tmp) / entry["file"]
        assert got.is_file() and hashlib.sha256(got.read_bytes()).hexdigest() == entry["sha256"], os.listdir(tmp)
        os.replace(got, target)
    return target


def test_check_lists_the_sboms_of_an_auditwheel_repaired_pypi_wheel() -> None:
    wheel = pypi_wheel(PILLOW)
    proc = subprocess.run([sys.executable, "-m", "manywheel", "check", str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  SBOM auditwheel.cdx.json (CycloneDX 1.4, by auditwheel 6.8.2): 1 component\n" \
           "    libXau 1.0.9-3.el8 (pkg:rpm/almalinux/libXau@1.0.9-3.el8)\n" in proc.stdout
    assert "  SBOM pillow-13.0.0.cdx.json (CycloneDX 1.7" in proc.stdout
    as_json = subprocess.run([sys.executable, "-m", "manywheel", "check", "--json", str(wheel)],
                             capture_output=True, text=True)
    [result] = json.loads(as_json.stdout)
    sboms = {s["member"].rsplit("/", 1)[1]: s for s in result["sboms"]}
    assert [(c["name"], c["version"]) for c in sboms["auditwheel.cdx.json"]["components"]] == [("libXau", "1.0.9-3.el8")]
    assert len(sboms["pillow-13.0.0.cdx.json"]["components"]) == 24
