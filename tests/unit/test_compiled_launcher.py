"""The compiled launcher (``_wrapper/launcher.c``), run for real against the Python wrapper it fronts.

Each call runs twice in the same toolchain directory: once through the launcher, once through
the shell scripts that start ``ccwrap`` for every call.  The "real compiler" of the
configuration is a logger that records the arguments and the raw environment it was started
with (``/proc/self/environ``) and which process started it, then execs gcc or g++.  Both sides
must give the compiler the same arguments and environment, and print and return the same.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from manywheel._wrapper import linklog
from manywheel.toolchain.compiler import Compilers
from manywheel.toolchain.launcher import SOURCE, LauncherUnavailable, compiled_launcher
from manywheel.toolchain.wrappers import make_toolchain, write_toolchain_config, write_wrapper_scripts
from tests.common import skip_missing

GCC, GXX = shutil.which("gcc"), shutil.which("g++")
LOGGER = """#!{python} -SE
import json, os, sys
with open("/proc/self/environ", "rb") as f:
    env = sorted(e.decode("utf-8", "surrogateescape") for e in f.read().split(b"\\0") if e)
parent = os.readlink("/proc/%d/exe" % os.getppid())
with open({log!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "env": env, "parent": parent}}) + "\\n")
os.execv({real!r}, [{real!r}] + sys.argv[1:])
"""


@pytest.fixture(scope="module")
def launcher_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One launcher cache for the module: the launcher is compiled once."""
    if GCC is None or GXX is None:
        skip_missing("gcc and g++ are needed", "gcc g++")
    return tmp_path_factory.mktemp("launcher-cache")


class Sides:
    """A toolchain whose wrappers can be the launcher or the shell scripts, with a logging compiler."""

    def __init__(self, tmp: Path, cache: Path, **config: Any) -> None:
        self.tmp = tmp
        self.log = tmp / "calls.jsonl"
        loggers = {}
        for name, real in (("log-gcc", GCC), ("log-g++", GXX)):
            loggers[name] = tmp / name
            loggers[name].write_text(LOGGER.format(python=sys.executable, log=str(self.log), real=real))
            loggers[name].chmod(0o755)
        compilers = Compilers.find(dict(os.environ))
        chain = make_toolchain(tmp / "tc", compilers, None, project=tmp, verbose=False, cache=cache)
        self.workdir = tmp / "tc"
        self.bindir = self.workdir / "bin"
        self.env = dict(os.environ, **chain.env)
        written = json.loads((self.workdir / "toolchain.json").read_text())
        written.update(cc=[str(loggers["log-gcc"])], cxx=[str(loggers["log-g++"])], cuda_host=[str(loggers["log-g++"])])
        written["compile_flags"] = written["compile_flags"] + ["-DMW_COMPILE"]
        written["preprocess_flags"] = written["preprocess_flags"] + ["-DMW_PREPROCESS"]
        written["link_flags"] = written["link_flags"] + ["-DMW_LINK"]
        written["link_flags_after"] = written["link_flags_after"] + ["-DMW_LINK_AFTER"]
        written.update(config)
        self.config_path = write_toolchain_config(self.workdir, written)
        self.launcher = compiled_launcher(cache, compilers.environ)

    def use(self, side: str) -> None:
        for marker in self.workdir.glob("warned-*"):
            marker.unlink()
        write_wrapper_scripts(self.bindir, self.config_path, self.launcher if side == "launcher" else None)
        first = (self.bindir / "cc").read_bytes()[:4]
        assert first == (b"\x7fELF" if side == "launcher" else b"#!/b")

    def calls(self, *cmds: list[str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Each command's exit code, output and what the compiler got."""
        results = []
        for cmd in cmds:
            self.log.unlink(missing_ok=True)
            proc = subprocess.run([str(self.bindir / cmd[0]), *cmd[1:]], env=env or self.env, cwd=self.tmp,
                                  capture_output=True, timeout=60)
            records = [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []
            results.append({"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                            "compiler": [{"argv": r["argv"], "env": r["env"]} for r in records],
                            "parents": [r["parent"] for r in records]})
        return results

    def both(self, *cmds: list[str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The launcher's results, checked equal to the Python wrapper's (the started-by aside)."""
        self.use("scripts")
        python = self.calls(*cmds, env=env)
        self.use("launcher")
        launched = self.calls(*cmds, env=env)
        for ours, theirs in zip(launched, python):
            assert {k: v for k, v in ours.items() if k != "parents"} == \
                   {k: v for k, v in theirs.items() if k != "parents"}
            assert all(Path(p).name.startswith("python") for p in theirs["parents"]), theirs["parents"]
        return launched

    def by_launcher(self, result: dict[str, Any]) -> bool:
        """Whether the launcher ran the compiler itself (not through Python)."""
        bindir = self.bindir.resolve()
        return bool(result["parents"]) and all(Path(p).parent in (bindir, bindir / "cuda") for p in result["parents"])


@pytest.fixture()
def sides(tmp_path: Path, launcher_cache: Path) -> Iterator[Sides]:
    (tmp_path / "e.c").write_text("")
    (tmp_path / "e.cpp").write_text("")
    (tmp_path / "bad.c").write_text("int f(void) { return undeclared_thing; }\n")
    yield Sides(tmp_path, launcher_cache)


def test_the_launcher_source_is_clean_standard_c(tmp_path: Path) -> None:
    if GCC is None:
        skip_missing("gcc is not installed", "gcc")
    proc = subprocess.run([GCC, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-o",
                           str(tmp_path / "launcher"), str(SOURCE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_compiles_and_preprocessing_run_without_python(sides: Sides) -> None:
    compile_c, preprocess, compile_cxx, assemble, deps = sides.both(
        ["cc", "-c", "e.c", "-o", "e.o"], ["gcc", "-E", "e.c"], ["c++", "-O2", "-c", "e.cpp", "-o", "x.o"],
        ["g++", "-S", "e.cpp", "-o", "e.s"], ["cc", "-MM", "e.c"])
    for result in (compile_c, preprocess, compile_cxx, assemble, deps):
        assert result["code"] == 0 and sides.by_launcher(result), result
    assert "-DMW_COMPILE" in compile_c["compiler"][0]["argv"] and "-DMW_PREPROCESS" not in compile_c["compiler"][0]["argv"]
    assert "-DMW_PREPROCESS" in preprocess["compiler"][0]["argv"]
    # The wrappers' bin directory is not on the compiler's PATH.
    path = next(e for e in compile_c["compiler"][0]["env"] if e.startswith("PATH="))[5:].split(os.pathsep)
    assert str(sides.bindir) not in path and str(sides.bindir) in sides.env["PATH"].split(os.pathsep)
    assert (sides.tmp / "x.o").read_bytes()[:4] == b"\x7fELF"


def test_queries_pass_through_without_python(sides: Sides) -> None:
    results = sides.both(["cc", "--version"], ["c++", "-dumpmachine"], ["gcc", "-print-file-name=libc.so.6"],
                         ["cc", "-dumpfullversion"], ["cuda/g++", "--version"], ["cc"])
    assert all(sides.by_launcher(r) for r in results)
    assert results[1]["stdout"].strip() and results[-1]["code"] == 1  # "no input files"
    assert b"manywheel: error: the compiler exited with code 1: " in results[-1]["stderr"]


def test_a_failing_compile_says_the_same(sides: Sides) -> None:
    [failed] = sides.both(["cc", "-c", "bad.c", "-o", "bad.o"])
    assert failed["code"] == 1 and sides.by_launcher(failed)
    assert b"undeclared_thing" in failed["stderr"]
    assert b"manywheel: error: the compiler exited with code 1: " in failed["stderr"]


def test_a_compiler_killed_by_a_signal_exits_128_plus_n(tmp_path: Path, launcher_cache: Path) -> None:
    killed = tmp_path / "killed-cc"
    killed.write_text("#!/bin/sh\nkill -TERM $$\n")
    killed.chmod(0o755)
    (tmp_path / "e.c").write_text("")
    sides = Sides(tmp_path, launcher_cache, cc=[str(killed)])
    sides.use("scripts")
    [python] = sides.calls(["cc", "-c", "e.c"])
    sides.use("launcher")
    [launched] = sides.calls(["cc", "-c", "e.c"])
    assert launched["code"] == python["code"] == 128 + 15
    assert launched["stderr"] == python["stderr"] == f"manywheel: error: the compiler exited with code 143: {killed} " \
        f"-ffile-prefix-map={tmp_path}={tmp_path.name} -DMW_COMPILE -c e.c\n".encode()


def test_what_needs_python_goes_to_python(sides: Sides) -> None:
    native, stdcxx, link, cuda = sides.both(
        ["cc", "-march=native", "-c", "e.c", "-o", "n.o"], ["c++", "-c", "e.cpp", "-lstdc++"],
        ["cc", "-shared", "-fPIC", "e.c", "-o", "libe.so"], ["cuda/g++", "-c", "e.cpp", "-o", "c.o"])
    for result in (native, stdcxx, link, cuda):
        assert result["code"] == 0 and not sides.by_launcher(result), result
    assert b"manywheel: warning: replaced -march=native with" in native["stderr"]
    again = sides.calls(["cc", "-march=native", "-c", "e.c", "-o", "n.o"])[0]
    assert again["code"] == 0 and b"warning" not in again["stderr"]  # once per build, as before
    links = Path(linklog.path_in(str(sides.workdir))).read_text().splitlines()
    assert len(links) == 2 and links[0] == links[1] and str(sides.tmp / "libe.so") in links[0]  # one a side


def test_verbose_goes_to_python(tmp_path: Path, launcher_cache: Path) -> None:
    (tmp_path / "e.c").write_text("")
    sides = Sides(tmp_path, launcher_cache, verbose=True)
    compiled, query = sides.both(["cc", "-c", "e.c", "-o", "e.o"], ["cc", "--version"])
    assert not sides.by_launcher(compiled) and not sides.by_launcher(query)
    assert b"manywheel: $ " in compiled["stderr"]


def test_a_command_that_is_not_ascii_goes_to_python(sides: Sides) -> None:
    (sides.tmp / "\u00e9.c").write_text("")
    [result] = sides.both(["cc", "-c", "\u00e9.c", "-o", "e.o"])
    assert result["code"] == 0 and not sides.by_launcher(result)


@pytest.mark.parametrize("layout", [[], ["sub/"], ["sub/deeper/"], ["sub/h.h"], ["h.h"], ["dirlink->"], ["broken->"]])
def test_the_environment_prefix_map_follows_the_same_rule(tmp_path: Path, launcher_cache: Path,
                                                          layout: list[str]) -> None:
    prefix = tmp_path / "build-env"
    include = prefix / "include"
    include.mkdir(parents=True)
    (prefix / "real").mkdir()
    for entry in layout:
        if entry.endswith("->"):
            target = prefix / "real" if entry.startswith("dirlink") else prefix / "missing"
            (include / entry[:-2]).symlink_to(target)
        elif entry.endswith("/"):
            (include / entry).mkdir(parents=True)
        else:
            (include / entry).parent.mkdir(parents=True, exist_ok=True)
            (include / entry).write_text("")
    headers = prefix / "lib" / "pkg" / "include"
    headers.mkdir(parents=True)
    (headers / "pkg.h").write_text("")
    (tmp_path / "e.c").write_text("")
    sides = Sides(tmp_path, launcher_cache, env_prefix=str(prefix))
    results = sides.both(["cc", f"-I{include}", "-c", "e.c"], ["cc", f"-I{include}/", "-c", "e.c"],
                         ["cc", "-I", str(include), "-E", "e.c"], ["cc", f"-I{headers}", "-c", "e.c"], ["cc", "-c", "e.c"])
    mapping = f"-ffile-prefix-map={prefix}=/python"
    mapped = [mapping in r["compiler"][0]["argv"] for r in results]
    empty = not any(entry.endswith(("h.h", "broken->")) for entry in layout)
    assert mapped == [not empty, not empty, not empty, True, False]
    assert all(sides.by_launcher(r) for r in results)


@pytest.mark.parametrize("variant", ["as-is", "C locale", "LC_ALL", "stale PWD and odd names", "no PATH"])
def test_the_compiler_gets_the_same_environment(sides: Sides, variant: str) -> None:
    env = dict(sides.env)
    if variant == "C locale":
        for name in ("LC_ALL", "LC_CTYPE", "LANGUAGE"):
            env.pop(name, None)
        env["LANG"] = "C"
    elif variant == "LC_ALL":
        env.update(LC_ALL="C", LANG="C.UTF-8")
    elif variant == "stale PWD and odd names":
        env.update({"PWD": "/", "A-B": "dash drops it", "x.y": "and this", "_OK1": "kept"})
    elif variant == "no PATH":
        env.pop("PATH")
    compiled, failed = sides.both(["cc", "-c", "e.c", "-o", "e.o"], ["cc", "-c", "bad.c", "-o", "bad.o"], env=env)
    assert sides.by_launcher(compiled) and sides.by_launcher(failed)
    names = {e.split("=", 1)[0] for e in compiled["compiler"][0]["env"]}
    assert "A-B" not in names and f"PWD={sides.tmp}" in compiled["compiler"][0]["env"]


def host_cc(tmp_path: Path, program: str) -> dict[str, str]:
    """The environment, with ``program`` as the ``cc`` first on PATH."""
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "cc").symlink_to(program)
    return dict(os.environ, PATH=f"{tmp_path / 'host'}:{os.environ['PATH']}")


def test_no_launcher_means_shell_scripts_and_one_line_when_verbose(tmp_path: Path) -> None:
    environ = host_cc(tmp_path, "/bin/false")
    with pytest.raises(LauncherUnavailable, match="failed with exit code 1"):
        compiled_launcher(tmp_path / "cache", environ)
    compilers = Compilers.find(dict(environ, CC=str(GCC), CXX=str(GXX)))
    said: list[str] = []
    make_toolchain(tmp_path / "tc", compilers, None, project=tmp_path, verbose=True, cache=tmp_path / "cache",
                   log=said.append)
    assert (tmp_path / "tc" / "bin" / "cc").read_text().startswith("#!/bin/sh\nexec ")
    assert len(said) == 1 and said[0].startswith("compiler launcher: ") and "start Python for every call" in said[0]
    make_toolchain(tmp_path / "tc2", compilers, None, project=tmp_path, verbose=False, cache=tmp_path / "cache",
                   log=said.append)
    assert len(said) == 1


def test_the_launcher_is_compiled_once_per_compiler(tmp_path: Path, launcher_cache: Path) -> None:
    first = compiled_launcher(launcher_cache, dict(os.environ))
    stamp = first.stat().st_mtime_ns
    assert compiled_launcher(launcher_cache, dict(os.environ)) == first and first.stat().st_mtime_ns == stamp
    assert first.parent == launcher_cache / "launchers"
    other = compiled_launcher(launcher_cache, host_cc(tmp_path, str(GXX)))  # another compiler, another entry
    assert other != first and other.is_file()


def test_the_builds_own_compiler_is_not_run_for_it(tmp_path: Path) -> None:
    # CC may be a launcher (ccache) that counts every run: the launcher is compiled with cc from PATH.
    counting = tmp_path / "counting-cc"
    counting.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "calls.log"}\nexec {GCC} "$@"\n')
    counting.chmod(0o755)
    compilers = Compilers.find(dict(os.environ, CC=str(counting)))
    make_toolchain(tmp_path / "tc", compilers, None, project=tmp_path, verbose=False, cache=tmp_path / "cache")
    assert (tmp_path / "tc" / "bin" / "cc").read_bytes()[:4] == b"\x7fELF"
    assert (tmp_path / "calls.log").read_text().splitlines() == ["-dumpmachine"]  # Compilers.find's check


def test_the_launcher_setting_false_gives_the_python_wrapper_for_every_call(tmp_path: Path, launcher_cache: Path
                                                                           ) -> None:
    compilers = Compilers.find(dict(os.environ))
    chain = make_toolchain(tmp_path / "tc", compilers, None, project=tmp_path, verbose=False, cache=launcher_cache,
                           launcher=False)
    for name in ("cc", "c++", "gcc", "g++", "cuda/g++"):
        assert (chain.wrapper_dir / "bin" / name).read_bytes().startswith(b"#!/bin/sh\n"), name


def link_log_of(sides: Sides) -> list[str]:
    path = Path(linklog.path_in(str(sides.workdir)))
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def test_programs_link_without_python_as_the_python_wrapper_links_them(sides: Sides) -> None:
    """A configure step's test programs and the linker's --version: the same compiler command (link
    flags after the compile flags), output and exit code, and the same line in the link log."""
    (sides.tmp / "m.c").write_text("int main(void) { return 0; }\n")
    (sides.tmp / "sub").mkdir()
    subprocess.run([str(GCC), "-c", "m.c", "-o", "m.o"], cwd=sides.tmp, check=True)
    subprocess.run([str(GCC), "-c", "e.c", "-o", "sub/e.o"], cwd=sides.tmp, check=True)
    cmds = [["cc", "m.c", "-o", "prog"], ["c++", "-Wl,--version"], ["cc", "m.o", "./sub/../sub//e.o", "-oprog2"],
            ["gcc", "m.o", "missing.o", "sub/e.o", "-lm", "-o", str(sides.tmp / "sub" / ".." / "prog3")],
            ["cc", "sub/e.o", "-o", "no-main"], ["cc", "m.o", "-o"], ["g++", "m.o", "-o", 'q"uote\\d']]
    sides.use("scripts")
    python, python_log = [], []
    for cmd in cmds:
        python += sides.calls(cmd)
        python_log.append(link_log_of(sides))
    sides.use("launcher")
    launched, launched_log = [], []
    for cmd in cmds:
        launched += sides.calls(cmd)
        launched_log.append(link_log_of(sides))
    for cmd, ours, theirs in zip(cmds, launched, python):
        assert sides.by_launcher(ours), (cmd, ours)
        for result in (ours, theirs):  # collect2 -v names gcc's temporary files
            result["stderr"] = re.sub(rb"/tmp/cc\w+", b"/tmp/cc", result["stderr"])
        assert {k: v for k, v in ours.items() if k != "parents"} == {k: v for k, v in theirs.items() if k != "parents"}
    assert launched_log == python_log
    program, version, _, _, failed, _, _ = launched
    assert program["code"] == 0 and version["code"] == 0 and b"GNU ld" in version["stdout"]
    assert [len(lines) for lines in launched_log] == [1, 0, 1, 1, 1, 0, 1]  # no output named, no line
    entry = json.loads(launched_log[2][0])
    assert entry["output"] == str(sides.tmp / "prog2") and entry["cwd"] == str(sides.tmp)
    assert entry["inputs"] == [str(sides.tmp / "m.o"), str(sides.tmp / "sub" / "e.o")]
    assert json.loads(launched_log[3][0])["inputs"] == [str(sides.tmp / "m.o"), str(sides.tmp / "sub" / "e.o")]
    assert failed["code"] == 1 and b"manywheel: error: the compiler exited with code 1: " in failed["stderr"]
    assert json.loads(launched_log[6][0])["output"] == str(sides.tmp / 'q"uote\\d')
    argv = program["compiler"][0]["argv"]
    assert argv[argv.index("-DMW_COMPILE") + 1:argv.index("m.c")] == ["-DMW_LINK"]
    assert argv[-1] == "-DMW_LINK_AFTER"


def test_shared_objects_and_links_with_libraries_from_source_go_to_python(tmp_path: Path, launcher_cache: Path) -> None:
    (tmp_path / "m.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "e.c").write_text("")
    libs = {"allowed": ["c"], "static": [], "bundle": [], "exclude": [], "provided": {}, "bundle_enabled": True,
            "search_dirs": [], "openmp": None, "from_source": {"mwtiny": str(tmp_path / "prefix" / "lib")}}
    sides = Sides(tmp_path, launcher_cache, libs=libs)
    program, shared = sides.both(["cc", "m.c", "-o", "prog"], ["cc", "-shared", "-fPIC", "e.c", "-o", "libe.so"])
    assert program["code"] == shared["code"] == 0
    assert not sides.by_launcher(program) and not sides.by_launcher(shared)
    assert len(link_log_of(sides)) == 4  # one a link, a side
