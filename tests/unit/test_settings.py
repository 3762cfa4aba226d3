"""Settings: every source, the precedence, and every error message (what, where, fix)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from manywheel.errors import SettingsError
from manywheel.settings import SETTINGS, read_settings, settings_env_markdown, settings_table_markdown


def settings(pyproject: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
             env: dict[str, str] | None = None) -> Any:
    return read_settings(Path("."), config or {}, env or {}, {"tool": {"manywheel": pyproject or {}}})


def test_defaults() -> None:
    s = settings()
    assert (s.target, s.pin, s.inner_backend, s.verbose) == ("manylinux_2_17", True, "setuptools.build_meta", False)


def test_precedence_pyproject_then_environment_then_config_settings() -> None:
    assert settings({"target": "manylinux_2_28"}).target == "manylinux_2_28"
    assert settings({"target": "manylinux_2_28"}, env={"MANYWHEEL_TARGET": "manylinux_2_31"}).target == "manylinux_2_31"
    s = settings({"target": "manylinux_2_28"}, {"manywheel.target": "auto"}, {"MANYWHEEL_TARGET": "manylinux_2_31"})
    assert s.target == "auto" and s.sources["target"] == "config setting -C manywheel.target"


def test_string_forms_of_other_types() -> None:
    s = settings(config={"manywheel.pin": "off", "manywheel.inner-backend-path": "a, b",
                         "manywheel.exports": ["one", "two"]}, env={"MANYWHEEL_VERBOSE": "yes"})
    assert (s.pin, s.inner_backend_path, s.exports, s.verbose) == (False, ("a", "b"), ("one", "two"), True)


def test_other_config_settings_are_not_ours() -> None:
    assert settings(config={"--build-option": "--foo", "editable_mode": "strict"}).target == "manylinux_2_17"


@pytest.mark.parametrize("pyproject, config, env, messages", [
    ({"targte": "x"}, {}, {}, ["unknown key 'targte' in pyproject.toml [tool.manywheel]", "did you mean 'target'?"]),
    ({}, {"manywheel.inner_backen": "x"}, {}, ["unknown key 'inner_backen'", "did you mean 'inner-backend'?"]),
    ({}, {}, {"MANYWHEEL_VERBSE": "1"}, ["unknown key 'verbse' in environment variable MANYWHEEL_VERBSE",
                                          "did you mean 'verbose'?"]),
    ({"pin": "yes"}, {}, {}, ["tool.manywheel.pin: expected a boolean (true or false), got a string 'yes'"]),
    ({"target": 2014}, {}, {}, ["tool.manywheel.target: expected a string, got an integer 2014"]),
    ({"exports": "PyInit_x"}, {}, {}, ["tool.manywheel.exports: expected a list of strings"]),
    ({"inner-backend-path": ["../outside"]}, {}, {}, ["'../outside' must be a relative path inside the project"]),
    ({"inner-backend-path": ["/abs"]}, {}, {}, ["'/abs' must be a relative path inside the project"]),
    ({"inner-backend": "not a module"}, {}, {}, ["'not a module' is not a backend name"]),
    ({"target": ""}, {}, {}, ["tool.manywheel.target: is empty"]),
    ({}, {"manywheel.pin": "maybe"}, {}, ["-C manywheel.pin: expected a boolean"]),
    ({}, {"manywheel.target": ["a", "b"]}, {}, ["given more than once"]),
    ({"exports": ["bad name!"]}, {}, {}, ["'bad name!' is not a symbol name"]),
    ({"static": ["bad name!"]}, {}, {}, ["'bad name!' is not a library name (like ffi, libffi or libffi.so.8)"]),
    ({"static": ["ffi"]}, {"manywheel.bundle": "libffi.so.8"}, {},
     ["library 'ffi' is listed in both static (pyproject.toml [tool.manywheel]) and bundle (config setting "
      "-C manywheel.bundle)", "hint: keep 'ffi' in one of static and bundle"]),
])
def test_errors_name_the_key_and_the_fix(pyproject: dict[str, Any], config: dict[str, Any], env: dict[str, str],
                                         messages: list[str]) -> None:
    with pytest.raises(SettingsError) as info:
        settings(pyproject, config, env)
    rendered = info.value.render()
    for message in messages:
        assert message in rendered
    assert "Traceback" not in rendered


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        settings({"targte": "x", "pin": 3}, {"manywheel.verbose": "loud"})
    rendered = info.value.render()
    assert rendered.count("manywheel: error:") == 3


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.manywheel\ntarget = 1\n")
    with pytest.raises(SettingsError, match="pyproject.toml is not valid TOML"):
        read_settings(tmp_path, {}, {})


def test_tool_manywheel_must_be_a_table() -> None:
    with pytest.raises(SettingsError, match=r"\[tool.manywheel\] in pyproject.toml must be a table"):
        read_settings(Path("."), {}, {}, {"tool": {"manywheel": "oops"}})


def test_readme_documents_every_key() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings_table_markdown() in readme, "regenerate the README table with manywheel.settings.settings_table_markdown()"
    assert settings_env_markdown() in readme, \
        "regenerate the README's environment variables with manywheel.settings.settings_env_markdown()"


def test_the_environment_variable_list_names_every_key_as_the_parser_reads_it() -> None:
    listed = settings_env_markdown()
    for s in SETTINGS:
        assert f"`{s.env}`" in listed
        value = {"table": "libfoo.so.1=foo-dist", "tables": "libxml2.args=--without-lzma"}.get(s.kind) or \
            s.example.strip("[]").replace('"', "").replace(" ", "")
        assert settings(env={s.env: value}).sources[s.key] == f"environment variable {s.env}"
