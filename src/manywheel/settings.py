"""manywheel's settings, read in one pass from three sources.

Precedence, lowest to highest: ``[tool.manywheel]`` in pyproject.toml, then
``MANYWHEEL_<KEY>`` environment variables, then ``-C manywheel.<key>=...``
config settings.  Every problem is collected and reported together.
"""
from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import SettingsError, SettingsErrors
from .policy import LIBRARY_NAME, library_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

CONFIG_PREFIX = "manywheel."
ENV_PREFIX = "MANYWHEEL_"
# Environment variables that start with the prefix but are not settings.
_ENV_NOT_SETTINGS = {"MANYWHEEL_OLDROOT"}


@dataclass(frozen=True)
class Setting:
    key: str
    kind: str  # "str", "bool", "list", "int"
    default: Any
    doc: str
    example: str


SETTINGS: tuple[Setting, ...] = (
    Setting("target", "str", "manylinux_2_17",
            "The policy the wheel must meet: a PEP 600 name (manylinux_X_Y), a legacy alias "
            "(manylinux2014), or \"auto\" for the best policy the built files meet.", '"manylinux_2_28"'),
    Setting("pin", "bool", True,
            "Pin every compile and link to the target's ABI baseline (stub libraries, shims, "
            "static libstdc++). false builds with the host's own ABI and only verifies.", "false"),
    Setting("inner-backend", "str", "setuptools.build_meta",
            "The PEP 517 backend that really builds the project (module or module:object).",
            '"pep517_backend.hooks"'),
    Setting("inner-backend-path", "list", [],
            "Directories (relative to the project) put first on sys.path to import an in-tree inner backend.",
            '["packaging"]'),
    Setting("exports", "list", [],
            "Dynamic symbols to export from extension modules besides PyInit_*.", '["my_plugin_entry"]'),
    Setting("static", "list", [],
            "External libraries (outside the policy's allow-list) to link statically; the build fails if "
            "no lib<name>_pic.a or lib<name>.a is found. Unlisted ones are linked statically when an "
            "archive exists, else bundled.", '["ffi"]'),
    Setting("bundle", "list", [],
            "External libraries to bundle into <dist>.libs/ under a unique name even when a static "
            "archive exists.", '["yaml"]'),
    Setting("exclude", "list", [],
            "Libraries to leave as they are, provided at run time by something else (another wheel, "
            "the system); as in -l (cuda) or as in NEEDED (libcuda.so.1).", '["cuda"]'),
    Setting("jobs", "int", 0,
            "How many source files of one extension compile at once; 0 means one per CPU core.", "4"),
    Setting("verbose", "bool", False, "Print every compiler and linker command as it runs.", "true"),
    Setting("cache-dir", "str", "",
            "Where generated baselines are cached (default: $XDG_CACHE_HOME/manywheel or ~/.cache/manywheel).",
            '"/tmp/mw-cache"'),
)
_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Validated settings of one build."""

    target: str = "manylinux_2_17"
    pin: bool = True
    inner_backend: str = "setuptools.build_meta"
    inner_backend_path: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    bundle: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    jobs: int = 0
    verbose: bool = False
    cache_dir: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from


def read_pyproject(project: Path) -> dict[str, Any]:
    path = project / "pyproject.toml"
    try:
        with open(path, "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path} is not valid TOML: {e}", hint="fix the syntax at the line and column named") from e
    return data


def read_settings(project: Path, config_settings: Mapping[str, Any] | None, environ: Mapping[str, str],
                  pyproject: dict[str, Any] | None = None) -> Settings:
    """Merge and validate the three sources; raise SettingsErrors listing every problem."""
    data = read_pyproject(project) if pyproject is None else pyproject
    errors: list[SettingsError] = []
    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    sources: dict[str, str] = {s.key: "default" for s in SETTINGS}

    table = data.get("tool", {}).get("manywheel", {}) if isinstance(data.get("tool", {}), dict) else {}
    if not isinstance(table, dict):
        errors.append(SettingsError(f"[tool.manywheel] in pyproject.toml must be a table, not {_type_name(table)}",
                                    key="tool.manywheel", hint='write it as a table: [tool.manywheel]'))
        table = {}
    for key, raw in table.items():
        _take(key, raw, "pyproject.toml [tool.manywheel]", f"tool.manywheel.{key}", typed=True,
              values=values, sources=sources, errors=errors)
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_SETTINGS:
            continue
        key = name[len(ENV_PREFIX):].lower().replace("_", "-")
        _take(key, raw, f"environment variable {name}", name, typed=False,
              values=values, sources=sources, errors=errors)
    for name, raw in (config_settings or {}).items():
        if not name.startswith(CONFIG_PREFIX):
            continue
        key = name[len(CONFIG_PREFIX):]
        _take(key, raw, f"config setting -C {name}", f"-C {name}", typed=False,
              values=values, sources=sources, errors=errors)
    errors += _conflicting_library_lists(values, sources)
    if errors:
        raise errors[0] if len(errors) == 1 else SettingsErrors(errors)
    return Settings(
        target=values["target"], pin=values["pin"], inner_backend=values["inner-backend"],
        inner_backend_path=tuple(values["inner-backend-path"]), exports=tuple(values["exports"]),
        static=tuple(map(library_name, values["static"])), bundle=tuple(map(library_name, values["bundle"])),
        exclude=tuple(map(library_name, values["exclude"])), jobs=values["jobs"],
        verbose=values["verbose"], cache_dir=values["cache-dir"], sources=sources,
    )


def _conflicting_library_lists(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[SettingsError]:
    """A library in two of static / bundle / exclude: which one wins would be a guess."""
    errors = []
    keys = ("static", "bundle", "exclude")
    for i, first in enumerate(keys):
        for second in keys[i + 1:]:
            both = sorted({library_name(n) for n in values[first]} & {library_name(n) for n in values[second]})
            for name in both:
                errors.append(SettingsError(
                    f"library {name!r} is listed in both {first} ({sources[first]}) and {second} ({sources[second]})",
                    key=f"tool.manywheel.{second}", hint=f"keep {name!r} in one of {first} and {second}"))
    return errors


def inner_config_settings(config_settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The config settings for the inner backend: everything except manywheel's own."""
    if config_settings is None:
        return None
    return {k: v for k, v in config_settings.items() if not k.startswith(CONFIG_PREFIX)}


def _take(key: str, raw: Any, origin: str, where: str, *, typed: bool, values: dict[str, Any],
          sources: dict[str, str], errors: list[SettingsError]) -> None:
    setting = _BY_KEY.get(key) or _BY_KEY.get(key.replace("_", "-"))
    if setting is None:
        close = difflib.get_close_matches(key.replace("_", "-"), list(_BY_KEY), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(_BY_KEY)}"
        errors.append(SettingsError(f"unknown key {key!r} in {origin}", key=where, hint=hint))
        return
    try:
        value = _convert(setting, raw, typed)
        _check_value(setting, value)
    except ValueError as e:
        errors.append(SettingsError(f"{where}: {e}", key=where,
                                    hint=f"{setting.key} is a {setting.kind}: {setting.doc} Example: {setting.key} = {setting.example}"))
        return
    values[setting.key] = value
    sources[setting.key] = origin


def _convert(setting: Setting, raw: Any, typed: bool) -> Any:
    kind = setting.kind
    if typed:  # from TOML: the type must already be right
        if kind == "bool" and isinstance(raw, bool):
            return raw
        if kind == "str" and isinstance(raw, str):
            return raw
        if kind == "int" and isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if kind == "list" and isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            return list(raw)
        expected = {"bool": "a boolean (true or false)", "str": "a string", "int": "an integer",
                    "list": "a list of strings"}[kind]
        raise ValueError(f"expected {expected}, got {_type_name(raw)} {raw!r}")
    if isinstance(raw, list):  # -C given several times
        if kind != "list":
            raise ValueError(f"given more than once ({raw!r}); give it once")
        return [str(x) for x in raw]
    text = str(raw).strip()
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean (true/false/1/0/yes/no/on/off), got {text!r}")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _check_value(setting: Setting, value: Any) -> None:
    if setting.key == "target" and not value:
        raise ValueError("is empty")
    if setting.key == "inner-backend":
        module, _, obj = value.partition(":")
        if not module or not all(part.isidentifier() for part in module.split(".")) or (
                obj and not all(part.isidentifier() for part in obj.split("."))):
            raise ValueError(f"{value!r} is not a backend name of the form 'package.module' or 'package.module:object'")
    if setting.key == "inner-backend-path":
        for entry in value:
            if os.path.isabs(entry) or ".." in Path(entry).parts:
                raise ValueError(f"{entry!r} must be a relative path inside the project (like backend-path in PEP 517)")
    if setting.key == "jobs" and value < 0:
        raise ValueError(f"must be 0 (one per CPU core) or more, not {value}")
    if setting.key in ("static", "bundle", "exclude"):
        for entry in value:
            if not LIBRARY_NAME.match(entry):
                raise ValueError(f"{entry!r} is not a library name (like ffi, libffi or libffi.so.8)")
    if setting.key == "exports":
        for name in value:
            if not name.replace("*", "x").replace("_", "x").isalnum():
                raise ValueError(f"{name!r} is not a symbol name (letters, digits, _ and * wildcards)")


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a float"}.get(type(value), type(value).__name__)


def settings_table_markdown() -> str:
    """The README's table of settings, generated from SETTINGS so docs match behaviour."""
    rows = ["| key | type | default | meaning | example |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = {True: "true", False: "false"}.get(s.default, s.default) if isinstance(s.default, bool) else s.default
        rows.append(f"| `{s.key}` | {s.kind} | `{default!r}` | {s.doc} | `{s.key} = {s.example}` |".replace("`''`", "`\"\"`"))
    return "\n".join(rows)
