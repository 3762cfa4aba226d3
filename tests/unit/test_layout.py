"""The package's two layout rules, read from the source with `ast` and checked by running it.

1. manywheel._wrapper (the compiler wrapper, started hundreds of times a build with
   ``python -S -E``) imports the standard library and its siblings only; ``typing`` only
   under ``if TYPE_CHECKING:``.
2. The check side (manywheel.check, cli.py) never imports the build side, directly or
   through the shared modules it imports: ``manywheel check`` runs without it.
"""
from __future__ import annotations

import ast
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel.toolchain.wrappers import make_toolchain
from tests.common import REPO, run

SRC = REPO / "src"
PACKAGE = SRC / "manywheel"
WRAPPER = PACKAGE / "_wrapper"
CHECK_SIDE = [*sorted((PACKAGE / "check").glob("*.py")), PACKAGE / "cli.py", PACKAGE / "__main__.py"]
BUILD_SIDE = (
    "manywheel.backend", "manywheel.build", "manywheel.settings", "manywheel.baseline", "manywheel.toolchain",
    "manywheel.inner", "manywheel.parallel", "manywheel.bundle", "manywheel.sdist", "manywheel.explain",
    "manywheel.sbom", "manywheel.glibc.shims", "manywheel._wrapper", "manywheel.provided",
)
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
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, type_checking)


def read_imports(path: Path) -> list[Import]:
    """Every import in the module, at any depth (functions, classes, conditionals)."""
    return list(_walk(ast.parse(path.read_text(), filename=str(path)), False))


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, imp: Import) -> list[str]:
    """The absolute names an import may load: the module, and each `from` name that is a submodule."""
    if imp.level:
        package = module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        package = package[: len(package) - (imp.level - 1)]
        base = ".".join(package + ([imp.module] if imp.module else []))
    else:
        base = imp.module
    return [base, *(f"{base}.{n}" for n in imp.names if module_file(f"{base}.{n}") is not None)]


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


# ------------------------------------------------------------ rule 2: the check side


def is_build_side(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BUILD_SIDE)


def reached_build_side(start: list[Path]) -> list[str]:
    """Each build-side module the start files reach through manywheel's own imports, with the chain."""
    found: list[str] = []
    chains = {module_name(p): module_name(p) for p in start}
    todo = list(start)
    while todo:
        path = todo.pop()
        for imp in read_imports(path):
            for name in imported_modules(path, imp):
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # a package's __init__ runs first
                    target = ".".join(parts[:depth])
                    file = module_file(target) if parts[0] == "manywheel" else None
                    if file is None or target in chains:
                        continue
                    chains[target] = f"{chains[module_name(path)]} -> {target} (line {imp.line})"
                    if is_build_side(target):
                        found.append(chains[target])
                    else:
                        todo.append(file)
    return sorted(found)


def test_check_side_sources_never_import_the_build_side() -> None:
    assert all(p.is_file() for p in CHECK_SIDE) and len(CHECK_SIDE) > 4
    assert reached_build_side(CHECK_SIDE) == []


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
    assert [m for m in loaded if is_build_side(m)] == []
