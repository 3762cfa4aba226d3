"""from-source's pure parts: names, order, needs, Debian versions, the settings, the build system."""
from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.errors import SettingsError
from manywheel.settings import read_settings
from manywheel.toolchain.aptsource import apt_source_lines, compare_versions, upstream_version
from manywheel.toolchain.fromsource import (FromSourceError, LibraryRequest, build_system_of, check_needs, order,
                                            resolve)
from manywheel.toolchain.recipes import BY_PACKAGE, RECIPES, recipe_for, resolve_name


@pytest.mark.parametrize(("name", "package", "chosen"), [
    ("libxml2", "libxml2", "the source package"),
    ("xml2", "libxml2", "the library -lxml2"),
    ("-lxslt", "libxslt", "the library -lxslt"),
    ("exslt", "libxslt", "the library -lexslt"),
    ("libxml-2.0", "libxml2", "the pkg-config module libxml-2.0"),
    ("libcurl", "curl", "the library -lcurl"),
    ("ssl", "openssl", "the library -lssl"),
    ("pq", "postgresql-15", "the library -lpq"),
    ("libxslt1-dev", "libxslt", "the binary package libxslt1-dev"),
])
def test_names_resolve_to_source_packages(name: str, package: str, chosen: str) -> None:
    assert resolve_name(name) == (package, chosen)


def test_an_unknown_name_is_not_guessed() -> None:
    assert resolve_name("libfrobnicate") is None


def test_every_need_of_the_table_is_in_the_table() -> None:
    for recipe in RECIPES:
        for need in recipe.needs:
            assert need.package in BY_PACKAGE, (recipe.package, need.package)
            assert need.required or need.off or recipe.package == "postgresql-15", (recipe.package, need.package)


def _request(package: str) -> LibraryRequest:
    return LibraryRequest(package, package, "the source package")


def test_libraries_are_built_in_the_order_they_need() -> None:
    built = order([_request("curl"), _request("libxslt"), _request("zlib"), _request("libxml2"), _request("openssl")])
    names = [r.package for r in built]
    assert names.index("zlib") < names.index("libxml2") < names.index("libxslt")
    assert names.index("openssl") < names.index("curl") and names.index("zlib") < names.index("curl")
    assert names.index("zlib") < names.index("openssl")


def test_resolve_without_apt_reports_every_unknown_name_at_once() -> None:
    with pytest.raises(FromSourceError) as e:
        resolve(["libxml2", "frob", "nitz"], {}, None, lambda m: None)
    assert "from-source names 'frob', 'nitz'" in e.value.message
    assert "libxml2" in (e.value.hint or "")


def test_resolve_says_which_source_package_a_name_was_taken_as() -> None:
    said: list[str] = []
    got = resolve(["xml2", "libxml2"], {"xml2": {"args": ["--without-lzma"]}}, None, said.append)
    assert [(r.package, r.args) for r in got] == [("libxml2", ("--without-lzma",))]
    assert said == ["from-source: 'xml2' is the library -lxml2; building the source package libxml2"]


def test_a_required_library_missing_when_cross_building_is_an_error() -> None:
    with pytest.raises(FromSourceError) as e:
        check_needs([_request("libxslt")], frozenset({"c", "m", "z"}), True, lambda pc: True)
    assert e.value.message.startswith("from-source: libxslt needs libxml2, which is not in from-source")
    assert e.value.hint and "add libxml2 to from-source" in e.value.hint


def test_a_required_library_the_host_has_is_taken_from_it_natively() -> None:
    notes = check_needs([_request("libxslt")], frozenset({"c", "m"}), False, lambda pc: pc == "libxml-2.0")
    assert notes and "libxslt needs libxml2" in notes[0] and "the host's is used" in notes[0]


@pytest.mark.parametrize(("a", "b", "sign"), [
    ("3.0.22-1~deb12u2", "3.0.20-1~deb12u2", 1),
    ("1:1.2.13.dfsg-1", "1.2.14-1", 1),  # the epoch wins
    ("1.0~rc1-1", "1.0-1", -1),  # "~" sorts before the end
    ("2.9.14+dfsg-1.3~deb12u6", "2.9.14+dfsg-1.3~deb12u4", 1),
    ("7.88.1-10+deb12u15", "7.88.1-10+deb12u5", 1),
    ("1.52.0-1+deb12u3", "1.52.0-1+deb12u3", 0),
])
def test_debian_versions_compare_as_dpkg_does(a: str, b: str, sign: int) -> None:
    assert compare_versions(a, b) == sign
    assert compare_versions(b, a) == -sign


@pytest.mark.parametrize(("version", "upstream"), [
    ("1:1.2.13.dfsg-1", "1.2.13"), ("2.9.14+dfsg-1.3~deb12u6", "2.9.14"), ("3.0.20-1~deb12u2", "3.0.20"),
    ("1.52.0", "1.52.0"),
])
def test_upstream_versions(version: str, upstream: str) -> None:
    assert upstream_version(version) == upstream


def test_deb_src_lines_come_from_deb822_and_one_line_sources() -> None:
    files = {
        "/etc/apt/sources.list.d/debian.sources": "Types: deb\nURIs: http://deb.debian.org/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n",
        "/etc/apt/sources.list": "deb http://security.debian.org/debian-security bookworm-security main # x\n",
    }
    assert apt_source_lines(files) == [
        "deb-src [signed-by=/usr/share/keyrings/k.gpg] http://deb.debian.org/debian bookworm main",
        "deb-src [signed-by=/usr/share/keyrings/k.gpg] http://deb.debian.org/debian bookworm-updates main",
        "deb-src http://security.debian.org/debian-security bookworm-security main",
    ]


def test_the_build_system_is_detected(tmp_path: Path) -> None:
    assert build_system_of(tmp_path, recipe_for("mine")) is None
    (tmp_path / "meson.build").write_text("project('x', 'c')\n")
    assert build_system_of(tmp_path, recipe_for("mine")) == "meson"
    (tmp_path / "CMakeLists.txt").write_text("project(x C)\n")
    assert build_system_of(tmp_path, recipe_for("mine")) == "cmake"
    (tmp_path / "configure").write_text("#!/bin/sh\n")
    assert build_system_of(tmp_path, recipe_for("mine")) == "autotools"
    assert build_system_of(tmp_path, recipe_for("openssl")) == "openssl"  # the table knows better


def _settings(tmp_path: Path, toml: str = "", env: dict[str, str] | None = None,
              config: dict[str, str] | None = None) -> object:
    (tmp_path / "pyproject.toml").write_text(toml)
    return read_settings(tmp_path, config, env or {})


def test_from_source_options_from_toml_env_and_config(tmp_path: Path) -> None:
    s = _settings(tmp_path, '[tool.manywheel]\nfrom-source = ["libxml2"]\n'
                            '[tool.manywheel.from-source-options.libxml2]\nargs = ["--without-lzma"]\nshared = true\n')
    assert s.from_source == ("libxml2",)  # type: ignore[attr-defined]
    assert dict(s.from_source_options["libxml2"]) == {"args": ["--without-lzma"], "shared": True}  # type: ignore[attr-defined]
    s = _settings(tmp_path, env={"MANYWHEEL_FROM_SOURCE": "zlib, openssl",
                                 "MANYWHEEL_FROM_SOURCE_OPTIONS": "openssl.args=no-asm enable-ec_nistp_64_gcc_128"})
    assert s.from_source == ("zlib", "openssl")  # type: ignore[attr-defined]
    assert s.from_source_options["openssl"]["args"] == ["no-asm", "enable-ec_nistp_64_gcc_128"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("toml", "expected"), [
    ('from-source = "libxml2"', "expected a list of strings"),
    ('from-source = ["lib xml2"]', "'lib xml2' is not a library or source package name"),
    ('from-source-options = { libxml2 = { sauce = "x" } }', "libxml2.sauce: unknown option (known: source, args, shared)"),
    ('from-source-options = { libxml2 = { args = "--x" } }', "libxml2.args must be a list of strings"),
    ('from-source-options = { libxml2 = "x" }', "expected a table of tables (one per library)"),
])
def test_bad_from_source_settings_are_named(tmp_path: Path, toml: str, expected: str) -> None:
    with pytest.raises(SettingsError) as e:
        _settings(tmp_path, f"[tool.manywheel]\n{toml}\n")
    assert expected in e.value.render(), e.value.render()
