"""The package's layout rules, read from the source with `ast` and checked by running it.

1. manywheel._wrapper (the compiler wrapper, started hundreds of times a build with
   ``python -S -E``) imports the standard library and its siblings only; ``typing`` only
   under ``if TYPE_CHECKING:``.
2. Every module belongs to one group, by package prefix (GROUPS: a module that matches none
   fails), and imports only from the groups its own may import (MAY_IMPORT): the shared
   modules import only each other; the check side (manywheel.check, cli, adopt) imports only
   shared modules, so ``manywheel check`` runs without the build side; toolchain preparation,
   the inner-backend adapters and the wheel repair do not import each other; only the steps
   on top (backend, build, explain) import everything.  Imports under ``if TYPE_CHECKING:``
   count too.
3. No import circle between modules (type-only imports aside).
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel.toolchain.wrappers import make_toolchain
from tests.common import REPO, run

SRC = REPO / "src"
PACKAGE = SRC / "manywheel"
WRAPPER = PACKAGE / "_wrapper"
# Each group: the module names it holds ("x.*": the package x and everything under it).
GROUPS: dict[str, tuple[str, ...]] = {
    "wrapper": ("manywheel._wrapper.*",),
    "root": ("manywheel",),  # its __init__ (the version) runs before any of its modules
    "shared": ("manywheel.errors", "manywheel.files", "manywheel.policy", "manywheel.arches",
               "manywheel.wheel", "manywheel.lifecycle", "manywheel.glibc", "manywheel.glibc.abi"),
    "check": ("manywheel.check.*", "manywheel.adopt"),
    "cli": ("manywheel.cli", "manywheel.__main__"),
    "settings": ("manywheel.settings",),
    "toolchain": ("manywheel.toolchain.*", "manywheel.glibc.shims"),
    "inner": ("manywheel.inner.*",),
    "repair": ("manywheel.repair.*",),
    "steps": ("manywheel.backend", "manywheel.build", "manywheel.explain"),
    "matrix": ("manywheel.matrix.*",),
}
MAY_IMPORT: dict[str, frozenset[str]] = {
    "root": frozenset({"root"}),
    "wrapper": frozenset({"root", "wrapper"}),
    "shared": frozenset({"root", "shared"}),
    "check": frozenset({"root", "check", "shared"}),
    # The command line: `check` and the rest, and `wheels` (imported only when that command runs).
    "cli": frozenset({"root", "cli", "check", "shared", "matrix"}),
    "settings": frozenset({"root", "settings", "shared"}),
    "toolchain": frozenset({"root", "toolchain", "settings", "shared", "wrapper"}),
    "inner": frozenset({"root", "inner", "shared"}),
    "repair": frozenset({"root", "repair", "check", "shared", "wrapper"}),
    "steps": frozenset(GROUPS),
    # `manywheel wheels`: runs frontends, never the build steps themselves.
    "matrix": frozenset({"root", "matrix", "shared", "settings"}),
}
BUILD_SIDE = ("settings", "toolchain", "inner", "repair", "steps", "matrix")
ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class Import:
    """One import statement (or ``importlib.import_module``/``__import__`` of a constant name)."""

    line: int
    level: int  # 0 absolute, 1 from this package, 2 from its parent...
    module: str  # as written, without the leading dots ("" for `from . import x`)
    names: tuple[str, ...]  # the names of a `from` import
    type_checking: bool  # under `if TYPE_CHECKING:`


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, type_checking: bool) -> Iterator[Import]:
    if isinstance(node, ast.Import):
        yield from (Import(node.lineno, 0, a.name, (), type_checking) for a in node.names)
    elif isinstance(node, ast.ImportFrom):
        yield Import(node.lineno, node.level, node.module or "", tuple(a.name for a in node.names), type_checking)
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str) and (
                (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"))
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")):
        name = node.args[0].value
        level = len(name) - len(name.lstrip("."))
        yield Import(node.lineno, level, name[level:], (), type_checking)
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _walk(child, True)
        for child in node.orelse:
            yield from _walk(child, type_checking)
        return
    for sub in ast.iter_child_nodes(node):
        yield from _walk(sub, type_checking)


def read_imports(path: Path) -> list[Import]:
    """Every import in the module, at any depth (functions, classes, conditionals)."""
    return list(_walk(ast.parse(path.read_text(), filename=str(path)), False))


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str, src: Path = SRC) -> Path | None:
    base = src.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, imp: Import, src: Path = SRC) -> list[str]:
    """The absolute names an import may load: the module, and each `from` name that is a submodule."""
    if imp.level:
        package = module_name(path, src).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (imp.level - 1)]
        base = ".".join(package + ([imp.module] if imp.module else []))
    else:
        base = imp.module
    return [base, *(f"{base}.{n}" for n in imp.names if module_file(f"{base}.{n}", src) is not None)]


# ------------------------------------------------------------ rule 1: the wrapper


def wrapper_violations(path: Path) -> list[str]:
    found = []
    for imp in read_imports(path):
        where = f"{path.relative_to(SRC)}:{imp.line}"
        if imp.level == 0:
            top = imp.module.split(".")[0]
            if top not in sys.stdlib_module_names:
                found.append(f"{where}: imports {imp.module}, not in the standard library")
            elif top == "typing" and not imp.type_checking:
                found.append(f"{where}: imports typing outside `if TYPE_CHECKING:`")
            continue
        siblings = [imp.module] if imp.module else list(imp.names)
        if imp.level != 1 or any(not (WRAPPER / f"{s.split('.')[0]}.py").is_file() for s in siblings):
            found.append(f"{where}: imports {'.' * imp.level}{imp.module or ','.join(imp.names)}, "
                         "not a module beside it in _wrapper")
    return found


def test_wrapper_imports_only_the_standard_library_and_its_siblings() -> None:
    modules = sorted(WRAPPER.glob("*.py"))
    assert {p.name for p in modules} >= {"ccwrap.py", "config.py", "elfedit.py", "extlibs.py", "linklog.py"}
    assert [v for p in modules for v in wrapper_violations(p)] == []


def test_wrapper_modules_import_alone_without_site_packages() -> None:
    """As the wrapper starts: ``python -S -E`` (no site-packages), the package root first on sys.path."""
    names = [f"manywheel._wrapper.{p.stem}" for p in sorted(WRAPPER.glob("*.py")) if p.stem != "__init__"]
    code = (f"import sys; sys.path[0] = {str(SRC)!r}\n"
            + "".join(f"import {n}\n" for n in names)
            + "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'manywheel')))\n")
    proc = run([sys.executable, "-S", "-E", "-c", code])
    loaded = proc.stdout.split()
    assert set(names) <= set(loaded)
    assert [m for m in loaded if m != "manywheel" and not m.startswith("manywheel._wrapper")] == []


def test_the_wrapper_starts_and_compiles(tmp_path: Path) -> None:
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), None, project=tmp_path, verbose=False)
    env = dict(os.environ, **chain.env)
    cc = chain.env["CC"]
    assert run([cc, "--version"], env=env).stdout == run([*chain.cc, "--version"]).stdout
    src = tmp_path / "one.c"
    src.write_text("int one(void) { return 1; }\n")
    run([cc, "-c", "-fPIC", str(src), "-o", str(tmp_path / "one.o")], env=env)
    run([cc, "-shared", str(tmp_path / "one.o"), "-o", str(tmp_path / "libone.so")], env=env)
    for built in (tmp_path / "one.o", tmp_path / "libone.so"):
        assert built.read_bytes()[:4] == ELF_MAGIC, built


# ------------------------------------------------------------ rule 2: groups


def group_of(name: str) -> str | None:
    for group, patterns in GROUPS.items():
        for pattern in patterns:
            if name == pattern.removesuffix(".*") or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                return group
    return None


def package_modules(src: Path = SRC) -> dict[str, Path]:
    return {module_name(p, src): p for p in sorted((src / "manywheel").rglob("*.py"))}


def manywheel_imports(path: Path, src: Path = SRC, *, type_checking: bool = True,
                      parents: bool = True) -> list[tuple[str, int]]:
    """(module, line) of every manywheel module the file imports, with ``parents`` its packages'
    __init__ too (they run first; each is in the group of the modules under it, or root)."""
    found = []
    for imp in read_imports(path):
        if imp.type_checking and not type_checking:
            continue
        for name in imported_modules(path, imp, src):
            parts = name.split(".")
            if parts[0] != "manywheel":
                continue
            for depth in range(1 if parents else len(parts), len(parts) + 1):
                target = ".".join(parts[:depth])
                if module_file(target, src) is not None:
                    found.append((target, imp.line))
    return found


def group_violations(src: Path = SRC) -> list[str]:
    """Each module outside every group, and each import across groups that MAY_IMPORT forbids."""
    found = []
    for name, path in package_modules(src).items():
        group = group_of(name)
        if group is None:
            found.append(f"{name}: in no group of tests/unit/test_layout.py's GROUPS: place it")
            continue
        for target, line in manywheel_imports(path, src, parents=False):
            other = group_of(target)
            if other is not None and other not in MAY_IMPORT[group]:
                found.append(f"{path.relative_to(src / 'manywheel')}:{line}: imports {target} ({other}), "
                             f"which the {group} group may not")
    return sorted(set(found))


def import_cycles(src: Path = SRC) -> list[list[str]]:
    """The import circles among the package's modules (type-only imports aside), each once."""
    graph = {name: sorted({t for t, _ in manywheel_imports(path, src, type_checking=False) if t != name})
             for name, path in package_modules(src).items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            # A package's __init__ imported by its own submodule is Python's normal order, not a circle.
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def test_every_module_is_in_a_group_and_imports_only_what_its_group_may() -> None:
    assert len(package_modules()) > 40
    assert group_violations() == []


def test_no_import_circle() -> None:
    assert import_cycles() == []


MISPLACED = [
    ("check/report.py", "from ..toolchain.baseline import prepare_baseline\n",
     "check/report.py:{line}: imports manywheel.toolchain.baseline (toolchain), which the check group may not"),
    ("toolchain/cross.py", "from ..repair.bundle import bundle_libraries\n",
     "toolchain/cross.py:{line}: imports manywheel.repair.bundle (repair), which the toolchain group may not"),
    ("policy.py", "from .settings import Settings\n",
     "policy.py:{line}: imports manywheel.settings (settings), which the shared group may not"),
]


@pytest.mark.parametrize("module, line_text, message", MISPLACED, ids=["check->toolchain", "toolchain->repair",
                                                                       "shared->settings"])
def test_a_misplaced_import_is_caught(tmp_path: Path, module: str, line_text: str, message: str) -> None:
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "manywheel", ignore=shutil.ignore_patterns("__pycache__", "data"))
    target = src / "manywheel" / module
    lines = target.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.startswith(("from ", "import ")))  # beside the others
    lines.insert(at, line_text)
    target.write_text("".join(lines))
    assert group_violations(src) == [message.format(line=at + 1)]


def test_a_new_module_in_no_group_is_caught(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "manywheel", ignore=shutil.ignore_patterns("__pycache__", "data"))
    (src / "manywheel" / "helpers.py").write_text("from .errors import ManywheelError\n")
    assert group_violations(src) == ["manywheel.helpers: in no group of tests/unit/test_layout.py's GROUPS: place it"]


def test_a_circle_is_caught(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "manywheel", ignore=shutil.ignore_patterns("__pycache__", "data"))
    with open(src / "manywheel" / "errors.py", "a") as f:
        f.write("from .policy import LibcVersion\n")
    assert ["manywheel.errors", "manywheel.policy", "manywheel.errors"] in import_cycles(src) or \
        ["manywheel.policy", "manywheel.errors", "manywheel.policy"] in import_cycles(src)


def test_manywheel_check_runs_without_the_build_side(compile_so: Callable[..., Path]) -> None:
    # An unversioned reference: judging it needs the glibc ABI record (getrandom is from glibc 2.25).
    lib = compile_so("long getrandom(void *, unsigned long, unsigned);\n"
                     "long f(void) { char b[4]; return getrandom(b, 4, 0); }\n", "-nostdlib")
    code = ("import json, sys\nfrom manywheel.cli import main\n"
            "code = main(['check', sys.argv[1]])\nprint(json.dumps([code, sorted(sys.modules)]))\n")
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = run([sys.executable, "-c", code, str(lib)], env=env)
    exit_code, loaded = json.loads(proc.stdout.splitlines()[-1])
    assert exit_code == 0 and "verdict manylinux_2_26_x86_64" in proc.stdout, proc.stdout + proc.stderr
    assert {"manywheel.check.verify", "manywheel.glibc.abi"} <= set(loaded)
    assert [m for m in loaded if m.startswith("manywheel") and group_of(m) in BUILD_SIDE] == []


def test_the_modules_of_every_build_leave_the_optional_steps_unimported() -> None:
    """What every wheel build imports (the build steps, the wrappers' setup, the baseline, the ELF
    scan, the SBOM, the OpenMP and from-source hooks the link rules name) pulls in none of the code
    of a step that only some builds take: building libraries from source, Debian's source packages,
    setuptools' parallel compile, explaining a failure. Each import costs a build about a millisecond
    per 4 KB of source where no bytecode is cached (an isolated environment, PYTHONDONTWRITEBYTECODE)."""
    every_build = ["manywheel.build", "manywheel.toolchain.wrappers", "manywheel.toolchain.baseline",
                   "manywheel.toolchain.openmp", "manywheel.toolchain.prefixes", "manywheel.toolchain.cross",
                   "manywheel.check.scan", "manywheel.check.verify", "manywheel.check.pyabi",
                   "manywheel.repair.bundle", "manywheel.repair.sbom", "manywheel.repair.provided"]
    optional = ["manywheel.toolchain.fromsource", "manywheel.toolchain.aptsource", "manywheel.toolchain.recipes",
                "manywheel.inner.parallel", "manywheel.explain", "setuptools"]
    code = (f"import sys; sys.path.insert(0, {str(SRC)!r})\n" + "".join(f"import {n}\n" for n in every_build)
            + f"print(' '.join(m for m in {optional!r} if m in sys.modules))\n")
    proc = run([sys.executable, "-c", code])
    assert proc.stdout.split() == []
