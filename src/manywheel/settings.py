"""manywheel's settings, read in one pass from three sources.

Precedence, lowest to highest: ``[tool.manywheel]`` in pyproject.toml, then
``MANYWHEEL_<KEY>`` environment variables, then ``-C manywheel.<key>=...``
config settings.  Every problem is collected and reported together.
"""
from __future__ import annotations

import difflib
import os
import re
import shlex
import sys
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .arches import BUILDABLE, check_buildable
from .errors import SettingsError, SettingsErrors
from .policy import DIST_NAME, LIBRARY_NAME, PROVIDED_LIBRARY, library_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

CONFIG_PREFIX = "manywheel."
# Every MANYWHEEL_* variable is a setting; one that is not is an unknown key.  The test tools'
# own variables take the prefix MWTEST_.
ENV_PREFIX = "MANYWHEEL_"
# Tables under [tool.manywheel] that other commands read (``manywheel wheels``): not build settings.
SUBTABLES = ("wheels",)


def _not_empty(value: str) -> None:
    if not value:
        raise ValueError("is empty")


def _backend_name(value: str) -> None:
    module, _, obj = value.partition(":")
    if not module or not all(part.isidentifier() for part in module.split(".")) or (
            obj and not all(part.isidentifier() for part in obj.split("."))):
        raise ValueError(f"{value!r} is not a backend name of the form 'package.module' or 'package.module:object'")


def _relative_paths(value: list[str]) -> None:
    for entry in value:
        if os.path.isabs(entry) or ".." in Path(entry).parts:
            raise ValueError(f"{entry!r} must be a relative path inside the project (like backend-path in PEP 517)")


def _symbol_names(value: list[str]) -> None:
    for name in value:
        if not name.replace("*", "x").replace("_", "x").isalnum():
            raise ValueError(f"{name!r} is not a symbol name (letters, digits, _ and * wildcards)")


def _library_names(value: list[str]) -> None:
    for entry in value:
        if not LIBRARY_NAME.match(entry):
            raise ValueError(f"{entry!r} is not a library name (like ffi, libffi or libffi.so.8)")


def _providers(value: dict[str, str]) -> None:
    for library, dist in value.items():
        if not PROVIDED_LIBRARY.match(library):
            raise ValueError(f"{library!r} is not a library name or glob (like cudart, libcudart.so.13 or libcublas*)")
        if not DIST_NAME.match(dist):
            raise ValueError(f"{dist!r} (for {library!r}) is not a distribution name (like nvidia-cuda-runtime)")


def _source_names(value: list[str]) -> None:
    for name in value:
        if not _SOURCE_NAME.match(name):
            raise ValueError(f"{name!r} is not a library or source package name (like libxml2, curl, xml2 or "
                             "libxml-2.0)")


_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*$")
_SOURCE_OPTION_KINDS = {"source": str, "args": list, "shared": bool}


def _source_options(value: dict[str, dict[str, Any]]) -> None:
    for name, options in value.items():
        if not _SOURCE_NAME.match(name):
            raise ValueError(f"{name!r} is not a library or source package name")
        for key, option in options.items():
            kind = _SOURCE_OPTION_KINDS.get(key)
            if kind is None:
                raise ValueError(f"{name}.{key}: unknown option (known: {', '.join(_SOURCE_OPTION_KINDS)})")
            if not isinstance(option, kind) or (isinstance(option, list) and not all(isinstance(a, str) for a in option)):
                what = {str: "a string", list: "a list of strings", bool: "a boolean"}[kind]
                raise ValueError(f"{name}.{key} must be {what}, not {_type_name(option)} {option!r}")


def _not_negative(value: int) -> None:
    if value < 0:
        raise ValueError(f"must be 0 (one per CPU core) or more, not {value}")


def _setting(default: Any, doc: str, example: str, check: Callable[[Any], None] | None = None,
             each: Callable[[str], str] | None = None) -> Any:
    """A field of Settings that is a user setting: its default, what it means (the README's
    words), an example value, a check that raises ValueError for a bad value, and a
    normalization applied to each entry of a list."""
    metadata = {"doc": doc, "example": example, "check": check, "each": each}
    if isinstance(default, dict):  # a table: read-only, one per Settings
        return field(default_factory=lambda: MappingProxyType(dict(default)), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """Validated settings of one build.  This class is the one table of settings: each field
    made by ``_setting`` is a key (``inner_backend`` is ``inner-backend``), and its type, default,
    documentation and checks come from here (``SETTINGS``, the parser, the README table)."""

    target: str = _setting(
        "manylinux_2_17", "The policy the wheel must meet: a PEP 600 name (manylinux_X_Y), a legacy alias "
        "(manylinux2014), or \"auto\" for the best policy the built files meet.", '"manylinux_2_28"', _not_empty)
    arch: str = _setting(
        "", f"The architecture to build for, by its manylinux name ({', '.join(BUILDABLE)}); empty means the "
        "host's. Another than the host's cross-builds with Debian's cross compilers (<triplet>-gcc) or CC/CXX.",
        '"aarch64"', check_buildable)
    pin: bool = _setting(
        True, "Pin every compile and link to the target's ABI baseline (stub libraries, shims, "
        "static libstdc++). false builds with the host's own ABI and only verifies.", "false")
    inner_backend: str = _setting(
        "setuptools.build_meta", "The PEP 517 backend that really builds the project (module or module:object).",
        '"pep517_backend.hooks"', _backend_name)
    inner_backend_path: tuple[str, ...] = _setting(
        (), "Directories (relative to the project) put first on sys.path to import an in-tree inner backend.",
        '["packaging"]', _relative_paths)
    exports: tuple[str, ...] = _setting(
        (), "Dynamic symbols to export from extension modules besides PyInit_*.", '["my_plugin_entry"]', _symbol_names)
    static: tuple[str, ...] = _setting(
        (), "External libraries (outside the policy's allow-list) to link statically; the build fails if "
        "no lib<name>_pic.a or lib<name>.a is found. Unlisted ones are linked statically when an "
        "archive exists, else bundled.", '["ffi"]', _library_names, library_name)
    bundle: tuple[str, ...] = _setting(
        (), "External libraries to bundle into <dist>.libs/ under a unique name even when a static "
        "archive exists.", '["yaml"]', _library_names, library_name)
    exclude: tuple[str, ...] = _setting(
        (), "Libraries to leave as they are, provided at run time by something else (another wheel, "
        "the system); as in -l (cuda) or as in NEEDED (libcuda.so.1).", '["cuda"]', _library_names, library_name)
    provided_by: Mapping[str, str] = _setting(
        {}, "Libraries that another wheel ships, as in -l or NEEDED (glob allowed), each with the distribution "
        "that ships it. Modules may need them; the project's dependencies must require that distribution; "
        "modules get a RUNPATH to where it installs them.", '{ "libcudart.so.13" = "nvidia-cuda-runtime" }',
        _providers)
    jobs: int = _setting(
        0, "How many source files of one extension compile at once; 0 means one per CPU core.", "4", _not_negative)
    verbose: bool = _setting(False, "Print every compiler and linker command as it runs.", "true")
    launcher: bool = _setting(
        True, "Run the compiler calls that need no rewriting (compiles without -march=native, the compiler's "
        "queries) through a small compiled launcher, about 1 ms a call; false starts manywheel's Python wrapper "
        "for every call (about 10 ms). The launcher links programs too (a configure step's test programs, the "
        "linker's `--version`); shared objects, and every link of a build with `from-source` libraries, go through "
        "Python.", "false")
    cache_dir: str = _setting(
        "", "Where generated baselines, libraries built from source and the build tools' bytecode are cached "
        "(default: $XDG_CACHE_HOME/manywheel or ~/.cache/manywheel).",
        '"/tmp/mw-cache"')
    bytecode_cache: bool = _setting(
        True, "Give the build environment's packages installed without bytecode (an isolated environment's "
        "meson, setuptools, ...) the bytecode compiled in an earlier build, as checked-hash .pyc files, so "
        "they are not compiled from source in every build; what is not cached yet is compiled once, after "
        "the build. false leaves the environment as it is.", "false")
    openmp_source: str = _setting(
        "", "GCC's source (a source tree, or a release tarball such as gcc-12.2.0.tar.xz) to build the OpenMP "
        "runtime for the baseline from, for projects that use OpenMP. Default: the compiler's Debian/Ubuntu "
        "source package, fetched once with apt-get source.", '"~/src/gcc-12.2.0.tar.xz"')
    from_source: tuple[str, ...] = _setting(
        (), "Libraries to build from source for the baseline (static, with PIC) before the project, by Debian "
        "source package (libxml2, curl, openssl, postgresql-15, ...), -l name (xml2) or pkg-config module "
        "(libxml-2.0): fetched with apt-get source, built in dependency order with the pinned compilers, "
        "cached; the project's build finds them first (pkg-config, *-config scripts, headers, libraries).",
        '["libxml2", "libxslt"]', _source_names)
    from_source_options: Mapping[str, Mapping[str, Any]] = _setting(
        {}, "Per library of from-source: source (a local source tree or tarball instead of apt-get source), "
        "args (extra configure / CMake / meson arguments), shared (true: build a shared library and bundle "
        "it). From -C or the environment: NAME.KEY=VALUE entries separated by commas.",
        '{ libxml2 = { args = ["--without-lzma"] } }', _source_options)
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from


_KINDS = {"str": "str", "bool": "bool", "int": "int", "tuple[str, ...]": "list", "Mapping[str, str]": "table",
          "Mapping[str, Mapping[str, Any]]": "tables"}


@dataclass(frozen=True)
class Setting:
    """One key of ``[tool.manywheel]``, derived from its field of ``Settings``."""

    key: str  # as users write it: "inner-backend"
    attr: str  # the Settings field: "inner_backend"
    kind: str  # "str", "bool", "list", "int", "table", "tables" (a table of tables)
    default: Any
    doc: str
    example: str
    check: Callable[[Any], None] | None
    each: Callable[[str], str] | None

    @property
    def env(self) -> str:
        """The environment variable that sets it: ``MANYWHEEL_INNER_BACKEND`` for ``inner-backend``."""
        return ENV_PREFIX + self.key.upper().replace("-", "_")

    def final(self, value: Any) -> Any:
        """The value as Settings holds it: lists become tuples, each entry normalized."""
        if self.kind == "table":
            return MappingProxyType(dict(value))
        if self.kind == "tables":
            return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in value.items()})
        if self.kind != "list":
            return value
        return tuple(self.each(v) for v in value) if self.each else tuple(value)


def _plain_default(f: Field[Any]) -> Any:
    """A field's default as a user writes it: a list, a dict, or the value itself."""
    if f.default is MISSING:
        return dict(f.default_factory())  # type: ignore[operator]
    return list(f.default) if isinstance(f.default, tuple) else f.default


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name.replace("_", "-"), f.name, _KINDS[str(f.type)],
            _plain_default(f),
            f.metadata["doc"], f.metadata["example"], f.metadata["check"], f.metadata["each"])
    for f in fields(Settings) if "doc" in f.metadata)
_BY_KEY = {s.key: s for s in SETTINGS}


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


def build_system_requires(pyproject: Mapping[str, Any], default: tuple[str, ...] = ()) -> list[str]:
    """The strings of ``[build-system] requires``; ``default`` when the table or the key is missing
    (pypa/build's is ``("setuptools >= 40.8.0",)``), none when either is not what PEP 518 says."""
    system = pyproject.get("build-system", {})
    requires = system.get("requires", list(default)) if isinstance(system, dict) else []
    return [r for r in requires if isinstance(r, str)] if isinstance(requires, list) else []


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
        if key in SUBTABLES and isinstance(raw, dict):
            continue
        _take(key, raw, "pyproject.toml [tool.manywheel]", f"tool.manywheel.{key}", typed=True,
              values=values, sources=sources, errors=errors)
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
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
    return Settings(**{s.attr: s.final(values[s.key]) for s in SETTINGS}, sources=sources)


def _conflicting_library_lists(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[SettingsError]:
    """A library in two of static / bundle / exclude / provided-by: which one wins would be a guess."""
    errors = []
    keys = ("static", "bundle", "exclude")
    for key in values["provided-by"]:
        for other in keys:
            if library_name(key) in {library_name(n) for n in values[other]}:
                errors.append(SettingsError(
                    f"library {key!r} is in provided-by ({sources['provided-by']}) and in {other} ({sources[other]})",
                    key=f"tool.manywheel.{other}", hint=f"a library another wheel provides is neither linked "
                    f"statically, bundled nor excluded: remove {key!r} from {other}"))
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
        if setting.check is not None:
            setting.check(value)
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
        if kind == "table" and isinstance(raw, dict) and all(isinstance(x, str) for x in raw.values()):
            return dict(raw)
        if kind == "tables" and isinstance(raw, dict) and all(isinstance(x, dict) for x in raw.values()):
            return {k: dict(v) for k, v in raw.items()}
        expected = {"bool": "a boolean (true or false)", "str": "a string", "int": "an integer",
                    "list": "a list of strings", "table": "a table of strings",
                    "tables": "a table of tables (one per library)"}[kind]
        raise ValueError(f"expected {expected}, got {_type_name(raw)} {raw!r}")
    if isinstance(raw, list):  # -C given several times
        if kind == "table":
            return _table_of(",".join(str(x) for x in raw))
        if kind == "tables":
            return _tables_of(",".join(str(x) for x in raw))
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
    if kind == "table":
        return _table_of(text)
    if kind == "tables":
        return _tables_of(text)
    return text


def _tables_of(text: str) -> dict[str, dict[str, Any]]:
    """``NAME.KEY=VALUE,...`` (an environment variable or -C value) as a table of tables: ``args`` is
    split like a shell command line, ``shared`` is a boolean."""
    tables: dict[str, dict[str, Any]] = {}
    for dotted, value in _table_of(text).items():
        name, dot, key = dotted.rpartition(".")
        if not dot or not name or not key:
            raise ValueError(f"expected NAME.KEY=VALUE entries (like libxml2.args=--without-lzma), got {dotted!r}")
        converted: Any = value
        if key == "args":
            converted = shlex.split(value)
        elif key == "shared":
            lowered = value.lower()
            if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(f"{dotted}: expected a boolean, got {value!r}")
            converted = lowered in ("1", "true", "yes", "on")
        tables.setdefault(name, {})[key] = converted
    return tables


def _table_of(text: str) -> dict[str, str]:
    """``KEY=VALUE,KEY=VALUE`` (an environment variable or -C value) as a table."""
    table = {}
    for part in (p.strip() for p in text.split(",")):
        key, eq, value = part.partition("=")
        if not part:
            continue
        if not eq or not key.strip() or not value.strip():
            raise ValueError(f"expected KEY=VALUE entries separated by commas, got {part!r}")
        table[key.strip()] = value.strip()
    return table


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


def settings_env_markdown() -> str:
    """The README's list of environment variables, one per setting, generated from SETTINGS."""
    return ", ".join(f"`{s.env}`" for s in SETTINGS)
