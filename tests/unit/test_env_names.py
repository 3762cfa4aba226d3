"""The environment's MANYWHEEL_* names are manywheel's settings, and nothing else: the test tools'
own variables (tools/*.sh, tests/, benchmarks/, .ci/) use the prefix MWTEST_, so a MANYWHEEL_*
variable that is not a setting is an unknown key, like any other."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from manywheel.errors import SettingsError
from manywheel.settings import ENV_PREFIX, SETTINGS, read_settings

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("tools", "tests", "benchmarks", ".ci")
NAME = re.compile(r"\bMANYWHEEL_[A-Z0-9_]*")
# Not environment variables of the test tools: a C macro the shim tests define, misspellings that
# test the unknown-key error, and the prefix itself (what the tests clear from an environment).
NOT_TEST_TOOLS = {"MANYWHEEL_SHIM_TEST_FALLBACK", "MANYWHEEL_VERBSE", "MANYWHEEL_TRAGET", "MANYWHEEL_"}


def setting_names() -> set[str]:
    return {ENV_PREFIX + s.key.upper().replace("-", "_") for s in SETTINGS}


def test_the_test_tools_name_only_settings_with_the_manywheel_prefix() -> None:
    found: dict[str, list[str]] = {}
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*")):
            if not path.is_file() or path.suffix not in ("", ".sh", ".py", ".toml", ".cfg", ".txt", ".md"):
                continue
            if "projects" in path.relative_to(REPO).parts or "__pycache__" in path.parts or path == Path(__file__):
                continue  # the sample projects' C sources define their own macros; this file names strays
            for name in NAME.findall(path.read_text(errors="replace")):
                found.setdefault(name, []).append(str(path.relative_to(REPO)))
    strays = {name: where for name, where in found.items() if name not in setting_names() | NOT_TEST_TOOLS}
    assert strays == {}, "the test tools' own variables take the prefix MWTEST_, not MANYWHEEL_"
    assert "MANYWHEEL_CACHE_DIR" in found  # the scan reads what it should


@pytest.mark.parametrize("name", ["MANYWHEEL_OLDROOT", "MANYWHEEL_CROSSROOTS", "MANYWHEEL_SKIP_CROSSROOTS"])
def test_a_test_tool_variable_under_the_manywheel_prefix_is_an_unknown_key(tmp_path: Path, name: str) -> None:
    with pytest.raises(SettingsError) as info:
        read_settings(tmp_path, None, {name: "1"})
    key = name[len(ENV_PREFIX):].lower().replace("_", "-")
    assert info.value.render().startswith(f"manywheel: error: unknown key {key!r} in environment variable {name}")


def test_the_test_tools_own_variables_are_none_of_manywheels_business(tmp_path: Path) -> None:
    env = {"MWTEST_CROSSROOTS": "/x", "MWTEST_SKIP_CROSSROOTS": "1", "MWTEST_OLDROOT": "/y",
           "MWTEST_PYTHON311": "/p", "MWTEST_DEBIAN_MIRROR": "http://m"}
    assert read_settings(tmp_path, None, env).sources == read_settings(tmp_path, None, {}).sources
