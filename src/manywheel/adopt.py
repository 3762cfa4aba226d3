"""``manywheel adopt``: switch a project's build backend to manywheel, keeping the file's text.

In ``[build-system]``, ``build-backend`` becomes ``manywheel.backend``, ``backend-path`` goes,
and ``"manywheel"`` joins ``requires``; the old backend (and its path) move to
``[tool.manywheel]`` as ``inner-backend`` (and ``inner-backend-path``).  Only those lines
change: comments, order and formatting stay as they were.  The new text is parsed again and
checked before anything is written, and written whole or not at all.
"""
from __future__ import annotations

import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import SettingsError
from .files import replace_atomically

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

BACKEND = "manywheel.backend"
# What a frontend uses when [build-system] names no backend (PEP 517).
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
_KEY = r"^(\s*{key}\s*=\s*)"


@dataclass(frozen=True)
class Adoption:
    """A pyproject.toml before and after adopting manywheel."""

    path: Path
    old: str
    new: str
    inner_backend: str
    inner_backend_path: tuple[str, ...]

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.old.splitlines(keepends=True), self.new.splitlines(keepends=True),
                                            f"a/{self.path.name}", f"b/{self.path.name}"))

    def write(self) -> None:
        with replace_atomically(self.path) as f:
            f.write(self.new.encode("utf-8"))


def pyproject_of(path: Path) -> Path:
    """``path`` itself when it is a file, else its pyproject.toml."""
    return path if path.is_file() else path / "pyproject.toml"


def adopt(path: Path) -> Adoption:
    """The adoption of the pyproject.toml at ``path`` (a file or a project directory); a
    SettingsError saying why when the file cannot be adopted."""
    file = pyproject_of(path)
    try:
        old = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{file}: no such file", hint="name a project directory or its pyproject.toml") from None
    try:
        data = tomllib.loads(old)
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{file} is not valid TOML: {e}", hint="fix the syntax at the line and column named") from e
    system = data.get("build-system")
    if not isinstance(system, dict):
        raise SettingsError(f"{file} has no [build-system] table, so there is no build backend to move",
                            key="build-system", hint='add one first, e.g. [build-system] requires = ["setuptools"] '
                            'build-backend = "setuptools.build_meta", then run manywheel adopt again')
    backend = system.get("build-backend", LEGACY_BACKEND)
    if not isinstance(backend, str):
        raise SettingsError(f"{file}: build-system.build-backend is not a string", key="build-system.build-backend")
    tool = data.get("tool", {}).get("manywheel", {})
    if backend.split(":")[0] == BACKEND or (isinstance(tool, dict) and "inner-backend" in tool):
        raise SettingsError(f"{file} already uses manywheel (build-backend = {backend!r}"
                            + (f", inner-backend = {tool['inner-backend']!r}" if "inner-backend" in tool else "") + ")",
                            key="build-system.build-backend", hint="nothing to do")
    backend_path = tuple(system.get("backend-path", ()))
    lines = old.splitlines(keepends=True)
    start, end = _table(lines, "build-system", file)
    section = _rewrite_build_system(lines[start:end], backend_path)
    lines[start:end] = section
    new = "".join(lines)
    new = _add_tool_table(new, backend, backend_path)
    _check(file, new, backend, backend_path)
    return Adoption(file, old, new, backend, backend_path)


def _table(lines: list[str], name: str, file: Path) -> tuple[int, int]:
    """The line range of the table ``[name]``: its header up to the next header."""
    start = next((i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and _bare(m.group(1)) == name), None)
    if start is None:
        raise SettingsError(f"{file}: [{name}] is not written as a table header (an inline table or dotted keys)",
                            key=name, hint=f"write it as [{name}] with one key per line, then run manywheel adopt again")
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i]) and not _in_array(lines, start, i)),
               len(lines))
    return start, end


def _bare(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def _in_array(lines: list[str], start: int, i: int) -> bool:
    """Whether line ``i`` is inside a multi-line array begun after ``start`` (``[`` lines of an array)."""
    depth = 0
    for line in lines[start + 1:i]:
        depth += _brackets(line)
    return depth > 0


def _brackets(line: str) -> int:
    """Opening minus closing brackets on a line, outside strings and comments."""
    depth = 0
    quote = ""
    for c in line:
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
    return depth


def _value_span(lines: list[str], key: str) -> tuple[int, int] | None:
    """The lines ``key = value`` takes in a table (a multi-line array takes several)."""
    pattern = re.compile(_KEY.format(key=re.escape(key)))
    for i, line in enumerate(lines):
        if pattern.match(line):
            depth, j = _brackets(line), i
            while depth > 0 and j + 1 < len(lines):
                j += 1
                depth += _brackets(lines[j])
            return i, j + 1
    return None


def _rewrite_build_system(section: list[str], backend_path: tuple[str, ...]) -> list[str]:
    out = list(section)
    span = _value_span(out, "backend-path")
    if span is not None:
        del out[span[0]:span[1]]
    span = _value_span(out, "build-backend")
    line = f'build-backend = "{BACKEND}"\n'
    if span is None:
        out.insert(_after_requires(out), line)
    else:
        m = re.match(r'^(\s*build-backend\s*=\s*)(["\']).*?\2(.*)$', out[span[0]], re.S)
        out[span[0]:span[1]] = [f'{m.group(1)}"{BACKEND}"{m.group(3)}' if m else line]
    return _add_requirement(out)


def _after_requires(section: list[str]) -> int:
    span = _value_span(section, "requires")
    return span[1] if span else 1


def _add_requirement(section: list[str]) -> list[str]:
    span = _value_span(section, "requires")
    if span is None:
        return section[:1] + ['requires = ["manywheel"]\n'] + section[1:]
    text = "".join(section[span[0]:span[1]])
    if re.search(r"[\"']manywheel\s*([<>=!~;\[\"']|$)", text):
        return section
    first = section[span[0]]
    at = first.index("[", first.index("=")) + 1
    rest = first[at:]
    if rest.strip() == "" and span[1] - span[0] > 1:  # one entry a line: a line of its own, indented like the next
        nxt = section[span[0] + 1]
        indent = nxt[:len(nxt) - len(nxt.lstrip())] or "    "
        return section[:span[0] + 1] + [f'{indent}"manywheel",\n'] + section[span[0] + 1:]
    separator = "" if rest.lstrip().startswith("]") else ", "
    return section[:span[0]] + [first[:at] + '"manywheel"' + separator + rest] + section[span[0] + 1:]


def _add_tool_table(text: str, backend: str, backend_path: tuple[str, ...]) -> str:
    keys = f"inner-backend = {json.dumps(backend)}\n"
    if backend_path:
        keys += f"inner-backend-path = [{', '.join(json.dumps(p) for p in backend_path)}]\n"
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m and _bare(m.group(1)) == "tool.manywheel":
            return "".join(lines[:i + 1] + [keys] + lines[i + 1:])
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text.strip() else "") + "[tool.manywheel]\n" + keys


def _check(file: Path, new: str, backend: str, backend_path: tuple[str, ...]) -> None:
    """The new text must say exactly what adopting means, or nothing is written."""
    try:
        data = tomllib.loads(new)
        system, tool = data["build-system"], data["tool"]["manywheel"]
        ok = (system.get("build-backend") == BACKEND and "backend-path" not in system
              and any(re.match(r"^\s*manywheel\s*([<>=!~;\[]|$)", r) for r in system.get("requires", []))
              and tool.get("inner-backend") == backend and tuple(tool.get("inner-backend-path", ())) == backend_path)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise SettingsError(f"{file}: its [build-system] is laid out in a way manywheel adopt cannot rewrite "
                            f"without changing something else; nothing was written",
                            key="build-system", hint=f'edit it by hand: build-backend = "{BACKEND}", add "manywheel" '
                            f'to requires, and put inner-backend = {json.dumps(backend)} under [tool.manywheel]')
