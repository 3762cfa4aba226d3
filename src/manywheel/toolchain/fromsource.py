"""The libraries a project links, built from source for the baseline (``from-source``).

A library the host has is as new as the host: Debian 12's libxml2 needs GLIBC_2.33, so a
project that links it gets a late tag.  Built from its source through manywheel's pinned
wrappers, the same library meets the baseline like the project's own objects do.  Each library
of ``from-source`` is

1. named by its Debian source package (a ``-l`` name, a pkg-config module or a binary package
   is resolved to one through ``recipes``, and the log says which was chosen);
2. fetched once with ``apt-get source`` (``aptsource``: the newest version of the host's release,
   security updates included, verified and patched the way apt does it), or taken from a local
   tree or tarball (``from-source-options``);
3. built static with PIC (shared, then bundled, when asked) by its own build system, detected
   (``configure``, ``CMakeLists.txt``, ``meson.build``) or named by the recipe, with the build's
   pinned compilers and target architecture, after the libraries it needs, which it finds through
   their prefixes' pkg-config files;
4. installed into a prefix of its own in the cache, keyed by source package and version, target
   baseline, architecture, compiler, options and the keys of what it was built with.  Built in a
   temporary directory, installed with ``DESTDIR`` and moved into place in one rename, under a
   lock: an interrupted build leaves nothing, concurrent builds build it once.

The project's build then sees the prefixes first (``env``), and its links take these libraries
from their prefixes only (the wrapper's ``from_source`` table, see ``_wrapper.extlibs``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from ..arches import BY_NAME, host_arch
from ..errors import BaselineError
from ..files import locked
from .aptsource import AptSourceError, PrivateApt, SourcePackage, fetch_source, upstream_version
from .prefixes import BuiltLibrary, Prefixes
from .recipes import BY_PACKAGE, OPENSSL_TARGETS, Recipe, recipe_for, resolve_name

if TYPE_CHECKING:
    from .compiler import Compilers
    from .wrappers import BaselineFlags

FORMAT = 1  # bump when the way libraries are built changes
Log = Callable[[str], None]
_LOG_TAIL = 25


class FromSourceError(BaselineError):
    """A library of ``from-source`` cannot be fetched or built: the message says which and why."""


@dataclass(frozen=True)
class LibraryRequest:
    """One entry of ``from-source``, resolved."""

    name: str  # as the user wrote it
    package: str  # the source package
    chosen: str  # what the name was taken as, for the log ("the library -lxml2")
    source: str = ""  # a local source tree or tarball; "" for apt-get source
    args: tuple[str, ...] = ()  # the user's extra configure / CMake / meson arguments
    shared: bool = False  # build a shared library (bundled) instead of a static one


# ----------------------------------------------------------------------------- naming and order

def resolve(names: Sequence[str], options: Mapping[str, Mapping[str, object]], apt: PrivateApt | None,
            log: Log) -> list[LibraryRequest]:
    """``from-source``'s names as source packages, each with its options (``from-source-options``),
    in the order they must be built (what a library needs first).  Every unknown name is reported
    together."""
    requests: list[LibraryRequest] = []
    unknown: list[str] = []
    for name in names:
        opts = options.get(name, {})
        found = resolve_name(name)
        if found is None and opts.get("source"):
            found = (name, "the name of a local source")
        if found is None and apt is not None:
            found = _resolve_with_apt(name, apt)
        if found is None:
            unknown.append(name)
            continue
        package, chosen = found
        if package != name:
            log(f"from-source: {name!r} is {chosen}; building the source package {package}")
        opts = {**options.get(package, {}), **opts}
        requests.append(LibraryRequest(name, package, chosen, str(opts.get("source", "")),
                                       tuple(str(a) for a in opts.get("args", ()) or ()),  # type: ignore[attr-defined]
                                       bool(opts.get("shared", False))))
    if unknown:
        known = ", ".join(sorted(BY_PACKAGE))
        raise FromSourceError(
            f"from-source names {', '.join(repr(n) for n in unknown)}: no Debian source package, -l name or "
            "pkg-config module of that name is known",
            hint=f"name the Debian source package (apt-cache showsrc NAME says which builds a library; known "
                 f"here: {known}), or give a local source tree in [tool.manywheel.from-source-options.NAME] source")
    seen: dict[str, LibraryRequest] = {}
    for r in requests:
        seen.setdefault(r.package, r)
    return order(list(seen.values()))


def _resolve_with_apt(name: str, apt: PrivateApt) -> tuple[str, str] | None:
    """A source package apt knows by that name, or the one that builds a binary package of that name."""
    hint = "name a source package that exists"
    try:
        apt.ready(hint)
    except AptSourceError:
        return None
    if apt.versions(name):
        return name, "the source package"
    source = apt.source_of_binary(name)
    if source:
        return source, f"the binary package {name}"
    return None


def order(requests: list[LibraryRequest]) -> list[LibraryRequest]:
    """What a library needs before it (stable: otherwise in the order given)."""
    by_package = {r.package: r for r in requests}
    done: list[LibraryRequest] = []
    visiting: set[str] = set()

    def visit(r: LibraryRequest) -> None:
        if r in done:
            return
        if r.package in visiting:
            raise FromSourceError(f"from-source: {r.package} needs itself through {', '.join(sorted(visiting))}")
        visiting.add(r.package)
        for need in recipe_for(r.package).needs:
            if need.package in by_package:
                visit(by_package[need.package])
        visiting.discard(r.package)
        done.append(r)

    for r in requests:
        visit(r)
    return done


def check_needs(requests: Sequence[LibraryRequest], allowed: frozenset[str], cross: bool,
                host_has: Callable[[str], bool]) -> list[str]:
    """Notes on required libraries that are not in ``from-source``: in the policy's allow-list, or
    linked from the host (native builds only).  A required library that is neither is an error."""
    listed = {r.package for r in requests}
    notes: list[str] = []
    missing: list[str] = []
    for r in requests:
        for need in recipe_for(r.package).needs:
            if not need.required or need.package in listed:
                continue
            needed = recipe_for(need.package)
            if set(needed.links) and set(needed.links) <= allowed:
                continue
            if not cross and any(host_has(pc) for pc in needed.pkgconfig):
                notes.append(f"{r.package} needs {need.package}, which is not in from-source: the host's is used "
                             f"(its link follows the rules for libraries outside the policy)")
                continue
            missing.append(f"{r.package} needs {need.package}")
    if missing:
        where = "the target architecture has no copy of it on this host" if cross else "the host has none"
        raise FromSourceError(
            f"from-source: {'; '.join(missing)}, which is not in from-source ({where})",
            hint=f"add {', '.join(sorted({m.split(' needs ')[1] for m in missing}))} to from-source, before or "
                 "after: the libraries are built in the order they need")
    return notes


# ----------------------------------------------------------------------------- building

@dataclass
class BuildPlan:
    """Everything one library's build needs to know."""

    request: LibraryRequest
    recipe: Recipe
    source: SourcePackage
    deps: list[BuiltLibrary]
    compilers: Compilers
    baseline: BaselineFlags | None
    built_for: str
    jobs: int
    environ: Mapping[str, str]
    key: str = ""
    extra: list[str] = field(default_factory=list)


def build_libraries(requests: Sequence[LibraryRequest], *, compilers: Compilers, baseline: BaselineFlags | None,
                    built_for: str, cache: Path, jobs: int, environ: Mapping[str, str],
                    log: Log) -> Prefixes:
    """Build (or take from the cache) each library, in order; return their prefixes."""
    if not requests:
        return Prefixes()
    apt = PrivateApt(cache / "sources" / "apt", log)
    built: list[BuiltLibrary] = []
    for request in requests:
        recipe = recipe_for(request.package)
        started = time.perf_counter()
        source = _source_of(request, apt, cache / "sources", log)
        fetched = time.perf_counter() - started
        deps = [b for b in built if b.package in {n.package for n in recipe.needs}]
        plan = BuildPlan(request, recipe, source, deps, compilers, baseline, built_for, jobs, environ)
        plan.key = _key(plan)
        library = _cached_or_built(plan, cache / "from-source", log, fetched)
        built.append(library)
    return Prefixes(tuple(built))


def _source_of(request: LibraryRequest, apt: PrivateApt, sources: Path, log: Log) -> SourcePackage:
    if request.source:
        return local_source(request, sources)
    hint = (f"check the name (apt-cache showsrc {request.package}), or give its source as a local tree or tarball: "
            f"[tool.manywheel.from-source-options.{request.name}] source = \"...\"")
    try:
        got = fetch_source(apt, request.package, sources, hint)
    except AptSourceError as e:
        raise FromSourceError(f"from-source {request.package}: {e.message}", hint=e.hint) from e
    for skipped in got.skipped:
        log(f"{request.package}: newer {skipped}: not fetched, took {got.version}")
    return got


def local_source(request: LibraryRequest, sources: Path) -> SourcePackage:
    """A local source tree, or a tarball unpacked once into the cache (keyed by its content)."""
    given = Path(request.source).expanduser()
    where = f"[tool.manywheel.from-source-options.{request.name}] source"
    if given.is_dir():
        _check_tree(given, f"{where} = {str(given)!r}")
        return SourcePackage(request.package, _version_of_tree(given), given.resolve(),
                             f"local tree {given}")
    if not given.is_file():
        raise FromSourceError(f"{where} = {str(given)!r} does not exist",
                              hint="name a source tree or a tarball (.tar.gz, .tar.xz, .tar.bz2) of the library")
    digest = hashlib.sha256(given.read_bytes()).hexdigest()[:16]
    final = sources / f"local-{request.package}-{digest}"
    if not (final / ".manywheel-complete").is_file():
        sources.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".unpack-", dir=sources) as tmp:
            try:
                with tarfile.open(given) as tar:
                    members = tar.getmembers()
                    tops = {m.name.split("/")[0] for m in members if m.name.strip("./")}
                    if any(m.name.startswith("/") or ".." in Path(m.name).parts for m in members) or \
                            any(m.issym() or m.islnk() for m in members if os.path.isabs(m.linkname)):
                        raise FromSourceError(f"{where} = {str(given)!r} has paths outside its own directory")
                    tar.extractall(tmp)  # noqa: S202 - members checked above
            except (tarfile.TarError, OSError) as e:
                raise FromSourceError(f"{where} = {str(given)!r} is not a tarball that can be read: {e}",
                                      hint="give a .tar.gz, .tar.xz or .tar.bz2 of the library's source, or its "
                                           "unpacked tree") from e
            top = Path(tmp) / next(iter(tops)) if len(tops) == 1 else None
            tree = top if top is not None and top.is_dir() else Path(tmp)
            _check_tree(tree, f"{where} = {str(given)!r}")
            (tree / ".manywheel-complete").write_text(f"{given.name}\n")
            if final.exists():
                shutil.rmtree(final)
            if tree == Path(tmp):  # a tarball without a top directory
                shutil.copytree(tree, final)
            else:
                os.replace(tree, final)
    return SourcePackage(request.package, _version_of_tree(final, given.name), final,
                         f"local tarball {given}")


def _check_tree(tree: Path, where: str) -> None:
    if build_system_of(tree, recipe_for("")) is None:
        raise FromSourceError(
            f"{where} is not a source tree manywheel can build: it has no configure, Configure, CMakeLists.txt or "
            f"meson.build at its top ({', '.join(sorted(p.name for p in tree.iterdir())[:8]) or 'it is empty'})",
            hint="give the library's source (a release tarball, or its unpacked tree)")


def _version_of_tree(tree: Path, name: str = "") -> str:
    m = re.search(r"-(\d[\w.+~-]*?)(\.tar(\.\w+)?|\.tgz)?$", name or tree.name)
    return m.group(1) if m else "local"


def build_system_of(tree: Path, recipe: Recipe) -> str | None:
    if recipe.system:
        return recipe.system
    for marker, system in (("configure", "autotools"), ("Configure", "openssl"), ("CMakeLists.txt", "cmake"),
                           ("meson.build", "meson")):
        if (tree / marker).is_file():
            return system
    return None


def _key(plan: BuildPlan) -> str:
    h = hashlib.sha256()
    cc = plan.compilers.cc
    parts = [str(FORMAT), plan.request.package, plan.source.version, plan.built_for, plan.compilers.arch,
             plan.baseline.directory.name if plan.baseline else f"host {cc.display} {cc.version}",
             json.dumps(list(plan.request.args)), str(plan.request.shared), repr(plan.recipe)]
    if plan.source.origin.startswith("local"):
        parts.append(_tree_digest(plan.source.tree))
    parts += [d.prefix.name for d in plan.deps]
    h.update("\n".join(parts).encode())
    return h.hexdigest()[:16]


def _tree_digest(tree: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            h.update(str(path.relative_to(tree)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _cached_or_built(plan: BuildPlan, root: Path, log: Log, fetch_seconds: float) -> BuiltLibrary:
    name = f"{plan.request.package}-{upstream_version(plan.source.version)}-{plan.compilers.arch}-{plan.key}"
    final = root / name
    try:
        with locked(root / f"{name}.lock"):
            cached = (final / "manywheel-library.json").is_file()
            if not cached:
                fetched = "fetched" if plan.source.origin.startswith("apt-get") else "source"
                log(f"library {plan.request.package} {plan.source.version}: {fetched} in {fetch_seconds:.1f} s "
                    f"({plan.source.origin}); building for {plan.built_for}")
                _build(plan, final, root / "logs" / f"{name}.log", log)
            library = read_built(final, cached=cached)
    except OSError as e:
        raise FromSourceError(f"cannot write the library {plan.request.package} into {root}: {e.strerror or e}",
                              hint="set cache-dir (MANYWHEEL_CACHE_DIR) to a writable directory") from e
    if cached:
        log(f"library {library.package} {library.version}: cached ({library.seconds:.1f} s when built), "
            f"{', '.join('lib' + n for n in library.links)} from {final}")
    return library


def read_built(final: Path, cached: bool) -> BuiltLibrary:
    data = json.loads((final / "manywheel-library.json").read_text())
    return BuiltLibrary(data["package"], data["version"], final, tuple(data["links"]), data["shared"],
                        data["origin"], data["purl"], data["built_for"], data["seconds"], cached)


def _build(plan: BuildPlan, final: Path, log_path: Path, log: Log) -> None:
    from .wrappers import make_toolchain

    started = time.perf_counter()
    package = plan.request.package
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".build-{package}-", dir=final.parent) as tmp:
        work = Path(tmp)
        tree = work / "src"
        shutil.copytree(plan.source.tree, tree, symlinks=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
        _revert_patches(tree, plan.recipe, log_path)
        toolchain = make_toolchain(work / "toolchain", plan.compilers, plan.baseline, project=tree, verbose=False,
                                   cache=final.parent.parent)  # final: <cache>/from-source/<name>
        stage = work / "stage"
        runner = _Runner(package, log_path, _build_env(plan, toolchain.env, work), log)
        system = build_system_of(tree, plan.recipe)
        steps = _steps(system, plan, tree, final, stage, work, toolchain.env)
        configured = False
        for step_name, cwd, command in steps:
            runner.run(step_name, cwd, command)
            if step_name == "configure" and not configured:
                configured = True
                log(f"library {package}: configured ({system}) in {time.perf_counter() - started:.1f} s")
        installed = stage / str(final).lstrip("/")
        links = _installed_links(installed / "lib", plan.request.shared)
        expected = [name for name in plan.recipe.links if name not in links]
        if not links or expected:
            what = ", ".join(f"lib{n}" for n in expected or plan.recipe.links) or "a library"
            raise FromSourceError(f"building {package} installed {', '.join('lib' + n for n in links) or 'nothing'} "
                                  f"into {installed / 'lib'}, not {what}",
                                  hint=f"see the build's log: {log_path}")
        _drop_other_kind(installed / "lib", plan.request.shared)
        seconds = time.perf_counter() - started
        record = {"package": package, "version": plan.source.version, "links": links, "shared": plan.request.shared,
                  "origin": plan.source.origin, "purl": _purl(plan), "built_for": plan.built_for,
                  "seconds": round(seconds, 1), "system": system, "args": list(plan.extra)}
        (installed / "manywheel-library.json").write_text(json.dumps(record, indent=1) + "\n")
        shutil.copyfile(log_path, installed / "build.log")
        os.replace(installed, final)
    log(f"library {package} {plan.source.version}: built in {seconds:.1f} s "
        f"({', '.join('lib' + n for n in links)}{', shared' if plan.request.shared else ', static, PIC'})"
        + (f": shared, as [tool.manywheel.from-source-options.{plan.request.name}] shared asks; the wheel bundles it"
           if plan.request.shared else ""))


def _purl(plan: BuildPlan) -> str:
    if not plan.source.origin.startswith(("apt-get", "cached")):
        return ""
    from urllib.parse import quote

    return f"pkg:deb/debian/{plan.request.package}@{quote(plan.source.version, safe='')}?arch=source"


def _installed_links(lib_dir: Path, shared: bool) -> list[str]:
    suffix = ".so" if shared else ".a"
    names = sorted(p.name[3:-len(suffix)] for p in lib_dir.glob(f"lib*{suffix}") if p.is_file() or p.is_symlink())
    return names


def _drop_other_kind(lib_dir: Path, shared: bool) -> None:
    """A static build keeps no shared library a link could take instead (and the other way round);
    libtool's .la files name build paths and are not needed."""
    for path in list(lib_dir.glob("*.la")) + list(lib_dir.glob("*.a" if shared else "*.so*")):
        path.unlink()


def _build_env(plan: BuildPlan, toolchain_env: Mapping[str, str], work: Path) -> dict[str, str]:
    env = {k: v for k, v in plan.environ.items()
           if k not in ("CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
                        "CPATH", "LIBRARY_PATH", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "DESTDIR",
                        "CMAKE_TOOLCHAIN_FILE", "CMAKE_PREFIX_PATH")}
    pic = "-fPIC" if not plan.request.shared else ""
    env.update(toolchain_env)
    # A program the build links (xmllint, a configure check) may hold weak references to pthread
    # functions pinned to the baseline's libpthread (libxml2's threads.c).  The stub libc's linker
    # script names libpthread AS_NEEDED, and weak references do not make it needed: ld 2.40 then fails
    # with "no symbol version section for versioned symbol pthread_setspecific@GLIBC_2.2.5".
    libs = "-Wl,--push-state,--no-as-needed -lpthread -Wl,--pop-state" if plan.baseline else ""
    env.update({"LC_ALL": "C", "CFLAGS": f"-O2 {pic}".strip(), "CXXFLAGS": f"-O2 {pic}".strip(), "LIBS": libs,
                "SOURCE_DATE_EPOCH": plan.environ.get("SOURCE_DATE_EPOCH", "315532800")})
    pcs = [str(d.lib_dir / "pkgconfig") for d in plan.deps]
    bins = [str(d.prefix / "bin") for d in plan.deps if (d.prefix / "bin").is_dir()]
    if plan.compilers.cross:
        env["PKG_CONFIG_LIBDIR"] = os.pathsep.join(pcs) or str(work / "no-pkgconfig")
    elif pcs:
        env["PKG_CONFIG_PATH"] = os.pathsep.join(pcs)
    parts = env["PATH"].split(os.pathsep)
    env["PATH"] = os.pathsep.join(parts[:1] + bins + parts[1:])
    return env


def _need_args(plan: BuildPlan) -> list[str]:
    by_package = {d.package: d for d in plan.deps}
    args: list[str] = []
    for need in plan.recipe.needs:
        dep = by_package.get(need.package)
        if dep is not None:
            args += [a.replace("{prefix}", str(dep.prefix)) for a in need.on]
        elif not need.required:
            args += list(need.off)
    return args


Step = tuple[str, Path, list[str]]


def _steps(system: str | None, plan: BuildPlan, tree: Path, final: Path, stage: Path, work: Path,
           toolchain_env: Mapping[str, str]) -> list[Step]:
    """The commands that configure, build and install (into ``stage``) the library."""
    cc = plan.compilers.cc
    jobs = f"-j{plan.jobs}"
    shared = plan.request.shared
    extra = list(plan.recipe.args) + _need_args(plan) + list(plan.request.args)
    plan.extra = extra
    host, build = cc.triplet, BY_NAME[host_arch()].gnu
    destdir = f"DESTDIR={stage}"
    if system == "autotools" or system == "postgresql":
        kinds = [] if system == "postgresql" else (
            ["--enable-shared", "--disable-static"] if shared else ["--enable-static", "--disable-shared", "--with-pic"])
        configure = ["./configure", f"--prefix={final}", f"--libdir={final}/lib", f"--host={host}", f"--build={build}",
                     *kinds, *extra]
        patched = _patched_build_files(tree)
        regenerate = [("regenerate", tree, ["autoreconf", "-fi"])] if patched else []
        if regenerate and not shutil.which("autoreconf"):
            raise FromSourceError(
                f"{plan.request.package}: Debian's patches change its autotools files ({patched[0]}), "
                "so its configure must be made again, and autoreconf is not on PATH",
                hint="apt-get install autoconf automake libtool autopoint")
        if system == "postgresql":
            return ([("configure", tree, configure)]
                    + [("build", tree / part, ["make", jobs]) for part in plan.recipe.parts]
                    + [("install", tree / part, ["make", "install", destdir]) for part in plan.recipe.parts])
        return regenerate + [("configure", tree, configure), ("build", tree, ["make", jobs]),
                             ("install", tree, ["make", "install", destdir])]
    if system == "zlib":
        env_cc = [f"CC={toolchain_env['CC']}", f"AR={cc.ar}", f"RANLIB={cc.binutil('ranlib')}"]
        configure = ["env", *env_cc, "./configure", f"--prefix={final}", f"--libdir={final}/lib",
                     *([] if shared else ["--static"]), *extra]
        return [("configure", tree, configure), ("build", tree, ["make", jobs, "libz.a" if not shared else "all"]),
                ("install", tree, ["make", "install", destdir])]
    if system == "openssl":
        target = OPENSSL_TARGETS.get(plan.compilers.arch)
        if target is None:
            raise FromSourceError(f"OpenSSL has no Configure target known to manywheel for {plan.compilers.arch}")
        kind = ["shared"] if shared else ["-fPIC"]
        configure = ["perl", "./Configure", target, f"--prefix={final}", "--libdir=lib",
                     f"CC={toolchain_env['CC']}", f"AR={cc.ar}", f"RANLIB={cc.binutil('ranlib')}", *kind,
                     *[a for a in extra if not (shared and a == "no-shared")]]
        return [("configure", tree, configure), ("build", tree, ["make", jobs, "build_libs"]),
                ("install", tree, ["make", "install_dev", destdir])]
    if system == "cmake":
        from .cross import cmake_toolchain_file

        build_dir = work / "cmake-build"
        args = ["cmake", "-S", str(tree), "-B", str(build_dir), "-G", "Ninja" if shutil.which("ninja") else "Unix Makefiles",
                f"-DCMAKE_INSTALL_PREFIX={final}", "-DCMAKE_INSTALL_LIBDIR=lib", "-DCMAKE_BUILD_TYPE=Release",
                f"-DBUILD_SHARED_LIBS={'ON' if shared else 'OFF'}", "-DCMAKE_POSITION_INDEPENDENT_CODE=ON",
                f"-DCMAKE_C_COMPILER={toolchain_env['CC']}", f"-DCMAKE_CXX_COMPILER={toolchain_env['CXX']}",
                "-DBUILD_TESTING=OFF", f"-DCMAKE_PREFIX_PATH={';'.join(str(d.prefix) for d in plan.deps)}"]
        if plan.compilers.cross:
            toolchain_file = cmake_toolchain_file(work / "cross.cmake", plan.compilers.arch, toolchain_env["CC"],
                                                  toolchain_env["CXX"], cc)
            args.append(f"-DCMAKE_TOOLCHAIN_FILE={toolchain_file}")
        return [("configure", tree, args + extra), ("build", tree, ["cmake", "--build", str(build_dir), jobs]),
                ("install", tree, ["env", destdir, "cmake", "--install", str(build_dir)])]
    if system == "meson":
        from .cross import meson_cross_file

        if not shutil.which("meson"):
            raise FromSourceError(f"{plan.request.package} builds with meson, and meson is not on PATH",
                                  hint="install meson and ninja (pip install meson ninja, or apt-get install meson)")
        build_dir = work / "meson-build"
        args = ["meson", "setup", str(build_dir), str(tree), f"--prefix={final}", "--libdir=lib",
                "--buildtype=release", f"--default-library={'shared' if shared else 'static'}", "-Db_staticpic=true"]
        if plan.compilers.cross:
            cross = meson_cross_file(work / "cross.ini", plan.compilers.arch, toolchain_env["CC"], toolchain_env["CXX"],
                                     cc, "python3")
            args.append(f"--cross-file={cross}")
        return [("configure", tree, args + extra), ("build", tree, ["meson", "compile", "-C", str(build_dir), jobs]),
                ("install", tree, ["meson", "install", "-C", str(build_dir), f"--destdir={stage}", "--no-rebuild"])]
    raise FromSourceError(f"{plan.request.package}: no configure, Configure, CMakeLists.txt or meson.build in "
                          f"{plan.source.tree}", hint="give the library's source tree")


def _revert_patches(tree: Path, recipe: Recipe, log_path: Path) -> None:
    """Take out the Debian patches the recipe names (when the tree has them applied)."""
    series = tree / "debian" / "patches" / "series"
    applied = series.read_text(errors="replace").split() if series.is_file() else []
    for name in recipe.revert:
        if name not in applied:
            continue
        proc = subprocess.run(["patch", "-R", "-p1", "-s", "-i", str(tree / "debian" / "patches" / name)], cwd=tree,
                              capture_output=True, text=True)
        with open(log_path, "a") as out:
            out.write(f"$ patch -R -p1 -i debian/patches/{name}\n{proc.stdout}{proc.stderr}")
        if proc.returncode != 0:
            raise FromSourceError(f"{recipe.package}: reverting Debian's {name} failed: "
                                  f"{(proc.stdout + proc.stderr).strip().splitlines()[-1:]}",
                                  hint=f"see {log_path}")


def _patched_build_files(tree: Path) -> list[str]:
    """The autotools inputs (configure.ac, Makefile.am, m4 macros) that Debian's applied patches change:
    Debian rebuilds configure from them (dh_autoreconf), and so must a build of its source."""
    series = tree / "debian" / "patches" / "series"
    if not series.is_file() or not (tree / "configure.ac").is_file():
        return []
    changed: list[str] = []
    for line in series.read_text(errors="replace").splitlines():
        name = line.split("#", 1)[0].strip().split(" ")[0]
        patch = tree / "debian" / "patches" / name
        if not name or not patch.is_file():
            continue
        for m in re.finditer(r"^\+\+\+ (\S+)", patch.read_text(errors="replace"), re.M):
            path = m.group(1).split("/", 1)[-1]
            if re.search(r"(^|/)(configure\.(ac|in)|Makefile\.am|[^/]*\.m4)$", path):
                changed.append(path)
    return sorted(set(changed))


class _Runner:
    """Runs a library's build steps into its log; a failure is the command, the log's tail and its path."""

    def __init__(self, package: str, log_path: Path, env: Mapping[str, str], log: Log) -> None:
        self.package = package
        self.log_path = log_path
        self.env = dict(env)
        self.log = log

    def run(self, step: str, cwd: Path, command: list[str]) -> None:
        with open(self.log_path, "ab") as out:
            out.write(f"\n$ cd {cwd} && {' '.join(command)}\n".encode())
            out.flush()
            try:
                proc = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=self.env)
            except OSError as e:
                raise FromSourceError(f"building {self.package}: cannot run {command[0]}: {e.strerror or e}",
                                      hint=f"install {command[0]}") from e
        if proc.returncode != 0:
            tail = self.log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL:]
            raise FromSourceError(
                f"building {self.package} failed at its {step} step (exit {proc.returncode}):\n"
                f"    $ {' '.join(command)}\n  the end of its log ({self.log_path}):\n    " + "\n    ".join(tail),
                hint=f"the whole log is {self.log_path}; extra arguments for its {step} go in "
                     f"[tool.manywheel.from-source-options.{self.package}] args")


__all__ = ["FromSourceError", "LibraryRequest", "BuiltLibrary", "Prefixes", "resolve", "order", "check_needs",
           "build_libraries", "local_source", "build_system_of", "read_built"]
