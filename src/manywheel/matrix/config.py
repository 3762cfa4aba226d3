"""The options of ``manywheel wheels``: ``[tool.manywheel.wheels]``, the keys it shares with
``[tool.cibuildwheel]`` (read from there when the manywheel table lacks them), and the command
line, in that order of precedence (lowest first: cibuildwheel, manywheel's table, the command line)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import SettingsError, SettingsErrors

TABLE = "[tool.manywheel.wheels]"
CIBW_TABLE = "[tool.cibuildwheel]"
# key -> (kind, default): "list" (a string split on spaces and commas, or an array of strings),
# "str", "int", "command" (a string, or an array joined with " && " as cibuildwheel does).
KEYS: dict[str, tuple[str, Any]] = {
    "python": ("list", ()),
    "arch": ("list", ()),
    "build": ("list", ("*",)),
    "skip": ("list", ()),
    "test-command": ("command", ""),
    "test-requires": ("list", ()),
    "test-extras": ("list", ()),
    "test-sources": ("list", ()),
    "test-skip": ("list", ()),
    "out": ("str", "wheelhouse"),
    "jobs": ("int", 0),
    "roots": ("str", ""),
}
# The cibuildwheel keys manywheel reads, and cibuildwheel's `archs` (mapped onto `arch`).
CIBW_KEYS = ("build", "skip", "test-command", "test-requires", "test-extras", "test-sources", "test-skip")
# cibuildwheel's `archs` values: auto/native mean the host's.
# cibuildwheel's per-platform tables: linux's keys count, the others' do not concern Linux wheels.
_OTHER_PLATFORM_TABLES = ("linux", "macos", "windows", "pyodide", "ios", "android")
CIBW_ARCHS_ALIASES = {"auto": "native", "auto64": "native", "native": "native", "all": "all", "auto32": "i686"}


@dataclass(frozen=True)
class WheelsConfig:
    """Every option, with where each value came from (``sources``) and the cibuildwheel keys
    manywheel read and could not use."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    cibw_used: tuple[str, ...] = ()
    cibw_unsupported: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def items(self, key: str) -> tuple[str, ...]:
        value: tuple[str, ...] = self.values[key]
        return value

    def text(self, key: str) -> str:
        value: str = self.values[key]
        return value

    def number(self, key: str) -> int:
        value: int = self.values[key]
        return value


def _convert(key: str, raw: Any, where: str) -> Any:
    kind = KEYS[key][0]
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise ValueError(f"{where}: expected an integer >= 0, got {raw!r}")
        return raw
    if kind == "str":
        if not isinstance(raw, str):
            raise ValueError(f"{where}: expected a string, got {raw!r}")
        return raw
    if kind == "command":
        if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            return " && ".join(raw)
        if not isinstance(raw, str):
            raise ValueError(f"{where}: expected a string or an array of strings, got {raw!r}")
        return raw
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ValueError(f"{where}: expected a string or an array of strings, got {raw!r}")
    return tuple(x.strip() for x in raw if x.strip())


def _take_table(table: Mapping[str, Any], origin: str, values: dict[str, Any], sources: dict[str, str],
                errors: list[SettingsError]) -> None:
    for key, raw in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
            errors.append(SettingsError(f"unknown key {key!r} in {origin}", key=f"{origin} {key}",
                                        hint=f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(KEYS)}"))
            continue
        try:
            values[key] = _convert(key, raw, f"{origin} {key}")
        except ValueError as e:
            errors.append(SettingsError(str(e), key=f"{origin} {key}", hint=f"{key} is a {KEYS[key][0]}"))
            continue
        sources[key] = origin


def _cibw_table(pyproject: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """[tool.cibuildwheel] with [tool.cibuildwheel.linux] over it, and every key manywheel cannot use."""
    tool = pyproject.get("tool", {})
    table = tool.get("cibuildwheel", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        return {}, []
    merged = {k: v for k, v in table.items() if not isinstance(v, dict)}
    unsupported = [k for k in table if isinstance(table[k], dict) and k not in _OTHER_PLATFORM_TABLES]
    linux = table.get("linux", {})
    if isinstance(linux, dict):
        merged.update(linux)
    readable = set(CIBW_KEYS) | {"archs"}
    unsupported += [k for k in merged if k not in readable]
    return {k: v for k, v in merged.items() if k in readable}, sorted(set(unsupported))


def _cibw_archs(raw: Any) -> tuple[str, ...]:
    items = _convert("arch", raw, f"{CIBW_TABLE} archs")
    return tuple(CIBW_ARCHS_ALIASES.get(a, a) for a in items)


def read_config(pyproject: Mapping[str, Any], cli: Mapping[str, Any]) -> WheelsConfig:
    """The options from the three sources; SettingsError(s) for every bad key or value at once.
    ``cli`` holds the command line's values (None: not given), by key."""
    values: dict[str, Any] = {k: default for k, (_, default) in KEYS.items()}
    sources: dict[str, str] = {k: "default" for k in KEYS}
    errors: list[SettingsError] = []
    cibw, unsupported = _cibw_table(pyproject)
    ours = _manywheel_table(pyproject, errors)
    used = []
    for key, raw in cibw.items():
        target = "arch" if key == "archs" else key
        if target in ours:
            continue
        try:
            values[target] = _cibw_archs(raw) if key == "archs" else _convert(key, raw, f"{CIBW_TABLE} {key}")
        except ValueError as e:
            errors.append(SettingsError(str(e), key=f"{CIBW_TABLE} {key}"))
            continue
        sources[target] = CIBW_TABLE
        used.append(key)
    _take_table(ours, TABLE, values, sources, errors)
    for key, raw in cli.items():
        if raw is not None:
            values[key] = raw if KEYS[key][0] != "list" else _convert(key, raw, f"--{key}")
            sources[key] = f"--{key}"
    if errors:
        raise errors[0] if len(errors) == 1 else SettingsErrors(errors)
    return WheelsConfig(values, sources, tuple(sorted(used)), tuple(unsupported))


def _manywheel_table(pyproject: Mapping[str, Any], errors: list[SettingsError]) -> dict[str, Any]:
    tool = pyproject.get("tool", {})
    manywheel = tool.get("manywheel", {}) if isinstance(tool, dict) else {}
    table = manywheel.get("wheels", {}) if isinstance(manywheel, dict) else {}
    if not isinstance(table, dict):
        errors.append(SettingsError(f"{TABLE} in pyproject.toml must be a table", key=TABLE,
                                    hint="write it as a table: [tool.manywheel.wheels]"))
        return {}
    return table


def describe_sources(config: WheelsConfig) -> list[str]:
    """The plan's lines on where the options came from: the cibuildwheel keys used and those not."""
    lines = []
    if config.cibw_used:
        lines.append(f"read from {CIBW_TABLE}: {', '.join(config.cibw_used)}")
    if config.cibw_unsupported:
        lines.append(f"not supported, ignored from {CIBW_TABLE}: {', '.join(config.cibw_unsupported)}")
    return lines
