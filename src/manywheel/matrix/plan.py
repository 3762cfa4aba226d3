"""What ``manywheel wheels`` will do, decided before anything is built: the cells selected, the
interpreter that builds each, the root that tests each, and every reason a cell will not be
built or tested.  Every bad input is found here, so no build starts on a plan that cannot run."""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..arches import BUILDABLE, BY_NAME, host_arch
from ..errors import ManywheelError, MatrixError, SettingsError
from ..settings import read_pyproject
from .config import WheelsConfig, describe_sources, read_config
from .identifiers import (MAIN_ARCHES, Identifier, PythonSelection, PythonVersion, Shard, check_selector, matches_any,
                          parse_python, parse_shard, universe, DEFAULT_MINORS)
from .interpreters import Found, Interpreter, SearchPlaces, find_interpreters, probe
from .roots import PlaceOfTest, default_roots_dir, place_of_test

BACKEND = "manywheel.backend"


@dataclass(frozen=True)
class Cell:
    """One wheel to build: its identifier, the interpreter that builds it (None: not built, and
    ``reason`` says why), and where its test runs (None: no test, ``test_note`` says why)."""

    ident: Identifier
    interpreter: Interpreter | None
    reason: str = ""
    test: PlaceOfTest | None = None
    test_note: str = ""


@dataclass(frozen=True)
class Plan:
    project: Path
    name: str
    out: Path
    jobs: int
    cells: tuple[Cell, ...]
    sdist_python: Interpreter | None
    config: WheelsConfig
    found: Mapping[PythonVersion, Found]
    notes: tuple[str, ...] = field(default=())

    @property
    def test_command(self) -> str:
        return self.config.text("test-command")


def _fail(errors: list[ManywheelError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MatrixError(f"{len(errors)} problems", errors=errors)


def check_backend(project: Path, pyproject: Mapping[str, Any]) -> str:
    """The project's name; MatrixError when it has no pyproject.toml or does not build with manywheel."""
    if not (project / "pyproject.toml").is_file():
        raise MatrixError(f"{project}: no pyproject.toml here", hint="name the project's directory")
    system = pyproject.get("build-system", {})
    backend = system.get("build-backend") if isinstance(system, dict) else None
    if backend != BACKEND:
        raise MatrixError(f"{project} builds with {backend or 'no build-backend (setuptools legacy)'}, not manywheel: "
                          "manywheel wheels builds each wheel with the project's own backend",
                          hint=f"switch it with `manywheel adopt {project}` (it keeps the old backend as the inner one)")
    project_table = pyproject.get("project", {})
    name = project_table.get("name") if isinstance(project_table, dict) else None
    return str(name or project.resolve().name)


def _arches(config: WheelsConfig, selection: PythonSelection) -> list[str]:
    given = config.items("arch")
    if not given:
        return list(dict.fromkeys([host_arch(), *selection.named_arches()]))
    arches: list[str] = []
    for name in given:
        if name == "all":
            arches += MAIN_ARCHES
        elif name == "native":
            arches.append(host_arch())
        elif name in BUILDABLE:
            arches.append(name)
        else:
            raise ValueError(f"unknown architecture {name!r}: one of {', '.join(BUILDABLE)}, or all")
    return list(dict.fromkeys(arches))


def _option_error(config: WheelsConfig, key: str, e: ValueError) -> ManywheelError:
    source = config.sources.get(key, "default")
    if source.startswith("--"):
        return MatrixError(str(e), hint=f"see manywheel wheels --help ({source})")
    return SettingsError(f"{source} {key}: {e}", key=f"{source} {key}")


def select(config: WheelsConfig) -> tuple[list[Identifier], list[str]]:
    """The identifiers the options select, and notes; MatrixError/SettingsError for each bad option."""
    errors: list[ManywheelError] = []
    notes: list[str] = []
    selection = PythonSelection(frozenset(PythonVersion(3, m) for m in DEFAULT_MINORS), ())
    try:
        if config.items("python"):
            selection = parse_python(config.items("python"))
    except ValueError as e:
        errors.append(_option_error(config, "python", e))
    arches: list[str] = []
    try:
        arches = _arches(config, selection)
    except ValueError as e:
        errors.append(_option_error(config, "arch", e))
    for key in ("build", "skip", "test-skip"):
        for pattern in config.items(key):
            try:
                if not check_selector(pattern, f"{key}") and key == "build":
                    notes.append(f"build: {pattern!r} selects nothing manywheel builds (only PyPy, musllinux, "
                                 "macOS, Windows, ... identifiers)")
            except ValueError as e:
                errors.append(_option_error(config, key, e))
    _fail(errors)
    chosen = [i for i in universe() if selection.selects(i) and i.arch in arches
              and matches_any(i, config.items("build")) and not matches_any(i, config.items("skip"))]
    return chosen, notes


def _requires_python(pyproject: Mapping[str, Any], chosen: list[Identifier]) -> tuple[list[Identifier], list[str]]:
    project = pyproject.get("project", {})
    spec = project.get("requires-python") if isinstance(project, dict) else None
    if not spec:
        return chosen, []
    if not isinstance(spec, str):
        return chosen, [f"requires-python {spec!r} is not a string: not applied"]
    from .specifier import python_allowed

    try:
        kept = [i for i in chosen if python_allowed(spec, i.python.major, i.python.minor)]
    except ValueError as e:
        return chosen, [f"requires-python {spec!r} is not a version specifier ({e}): not applied"]
    dropped = sorted({i.python.tag for i in chosen if i not in kept})
    return kept, ([f"left out by requires-python {spec!r}: {', '.join(dropped)}"] if dropped else [])


def check_cross_compilers(arches: list[str], path_env: str) -> None:
    """MatrixError naming each architecture whose cross compiler is not on PATH, with its packages."""
    missing = [a for a in arches if a != host_arch() and shutil.which(f"{BY_NAME[a].gnu}-gcc", path=path_env) is None]
    if missing:
        lines = [f"{a}: {BY_NAME[a].gnu}-gcc not on PATH" for a in missing]
        packages = " ".join(BY_NAME[a].cross_packages for a in missing)
        raise MatrixError("no cross compiler for " + "; ".join(lines),
                          hint=f"install it (Debian: apt-get install {packages}), or leave out --arch "
                               f"{','.join(missing)}")


def _shard(config: WheelsConfig, shard_text: str | None, chosen: list[Identifier]) -> tuple[list[Identifier], list[str]]:
    if shard_text is None:
        return sorted(chosen, key=Identifier.sort_key), []
    try:
        shard: Shard = parse_shard(shard_text)
    except ValueError as e:
        raise MatrixError(f"--shard {e}", hint="--shard K/N builds part K of N (1 <= K <= N)") from None
    part = shard.take(chosen)
    return part, [f"shard {shard.part}/{shard.parts}: {len(part)} of {len(chosen)} wheels"]


def _test_of(ident: Identifier, config: WheelsConfig, no_test: bool, roots: Path,
             environ: Mapping[str, str]) -> tuple[PlaceOfTest | None, str]:
    if no_test:
        return None, "not tested: --no-test"
    if not config.text("test-command"):
        return None, "not tested: no test-command"
    if matches_any(ident, config.items("test-skip")):
        return None, "not tested: test-skip"
    place = place_of_test(roots, ident.arch, ident.python, euid=os.geteuid(), path_env=environ.get("PATH", ""))
    return place, ("" if place.root else f"not run: {place.reason}")


def make_plan(project: Path, cli: Mapping[str, Any], environ: Mapping[str, str], *, shard: str | None = None,
              no_test: bool = False) -> Plan:
    """The whole plan; raises one ManywheelError (listing several where there are) for bad input."""
    if not project.is_dir():
        raise MatrixError(f"{project}: no such directory", hint="name the project's directory")
    pyproject = read_pyproject(project)
    name = check_backend(project, pyproject)
    config = read_config(pyproject, cli)
    chosen, notes = select(config)
    chosen, dropped = _requires_python(pyproject, chosen)
    if not chosen:
        raise MatrixError("the options select no wheel to build", hint="widen --python, --arch or build, or narrow skip")
    chosen, shard_notes = _shard(config, shard, chosen)
    check_cross_compilers(sorted({i.arch for i in chosen}), environ.get("PATH", ""))
    found = find_interpreters({i.python for i in chosen}, SearchPlaces.from_environ(environ))
    roots = Path(config.text("roots")).expanduser() if config.text("roots") else default_roots_dir(environ)
    cells = []
    for ident in chosen:
        interpreter = found[ident.python].interpreter
        if interpreter is None:
            cells.append(Cell(ident, None, reason=f"not built: no usable {ident.python.tag} interpreter (see above)"))
            continue
        test, note = _test_of(ident, config, no_test, roots, environ)
        cells.append(Cell(ident, interpreter, test=test if test and test.root else None, test_note=note))
    sdist_python = _sdist_python(found)
    # One build per core: a small wheel's build is mostly one process at a time (the frontend, one
    # compile, the link), and a test under qemu-user is one.
    jobs = config.number("jobs") or max(1, os.cpu_count() or 1)
    out = Path(config.text("out"))
    return Plan(project, name, out if out.is_absolute() else Path.cwd() / out, jobs, tuple(cells), sdist_python,
                config, found, tuple(describe_sources(config) + notes + dropped + shard_notes))


def _sdist_python(found: Mapping[PythonVersion, Found]) -> Interpreter | None:
    """The interpreter that runs manywheel, when it has ``build``; else the newest one found."""
    here = probe(sys.executable)
    if here is not None and here.has_build:
        return here
    usable = [f.interpreter for f in found.values() if f.interpreter is not None]
    return max(usable, key=lambda i: i.version) if usable else None


def render_plan(plan: Plan) -> str:
    """The plan as the command prints it before building."""
    c = plan.config
    lines = [f"manywheel wheels: {plan.name} from {plan.project} ({len(plan.cells)} wheels, {plan.jobs} at a time, "
             f"into {plan.out})"]
    for key in ("python", "arch", "build", "skip", "test-command", "test-requires", "test-extras", "test-sources",
                "test-skip"):
        if c.sources[key] != "default":
            value = c.values[key]
            shown = value if isinstance(value, str) else " ".join(value)
            lines.append(f"  {key}: {shown} ({c.sources[key]})")
    lines += [f"  {note}" for note in plan.notes]
    if plan.sdist_python is not None:
        lines.append(f"  sdist: built by {plan.sdist_python.path}")
    lines.append("interpreters:")
    for version, found in sorted(plan.found.items()):
        if found.interpreter is not None:
            v = ".".join(map(str, found.interpreter.version))
            lines.append(f"  {version.tag}: {found.interpreter.path} ({v})")
        else:
            lines.append(f"  {version.tag}: {found.reason}")
    lines.append("wheels:")
    width = max(len(str(cell.ident)) for cell in plan.cells)
    for cell in plan.cells:
        lines.append(f"  {str(cell.ident):<{width}}  {_cell_line(cell)}")
    return "\n".join(lines)


def _cell_line(cell: Cell) -> str:
    if cell.interpreter is None:
        return cell.reason
    how = "native" if cell.ident.arch == host_arch() else "cross"
    build = f"build: {how}, {cell.ident.python.tag} interpreter"
    if cell.test is not None and cell.test.root is not None:
        return f"{build}; test: {cell.test.root.describe()}, {cell.test.python}"
    return f"{build}; {cell.test_note}"
