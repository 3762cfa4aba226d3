"""External libraries at link time: link them statically, or bundle them into the wheel.

Standard library only, like the wrapper that imports it (``ccwrap``), and imported by it
only for links of shared objects when external libraries are handled.

A library is linked statically when a usable archive exists (``libNAME_pic.a`` first,
then ``libNAME.a``); its symbols stay hidden (``--exclude-libs,ALL``) and its references
to glibc are pinned like the project's own.  Otherwise it is bundled: the shared library
is copied under a name unique to its content (``libffi-1a2b3c4d.so.8``) with its
``DT_SONAME`` removed, so a system copy of the same library in the same process is never
mistaken for it; the link names the copy by that file name (``-l:NAME``), so the module's
``DT_NEEDED`` is the unique name; and a placeholder ``RUNPATH`` long enough for any
``$ORIGIN/<...>/<dist>.libs`` is reserved in the module, to be filled in once the wheel's
layout is known (``manywheel.repair.bundle``).  The ELF edits are ``elfedit``'s.

A library another wheel provides (``provided-by``) is left to the linker, and the module gets
the placeholder too: its ``RUNPATH`` will reach where that wheel installs the library.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil

from .elfedit import PLACEHOLDER, ElfEditError, read_needed, read_soname, remove_soname

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import LibraryConfig, WrapperConfig
    from .linklog import BundledEntry

_LINK_NAME = re.compile(r"^lib(.+?)\.so(\.[0-9.]+)?$")
# Never treated as external: the interpreter, and the compiler's own runtime libraries,
# which the baseline already handles (static libstdc++/libgcc) or the policy allows.
# The OpenMP runtimes a link may name; all are served by the one built for the baseline.
_OPENMP = ("gomp", "omp", "iomp5")
_NEVER = re.compile(r"^(python\d.*|gcc|gcc_s|gcc_eh|stdc\+\+|supc\+\+|ssp|ssp_nonshared|atomic)$")


class LinkError(Exception):
    """A link cannot be done as the settings ask; the message says why and what to do."""


def link_name(soname_or_file: str) -> str | None:
    """``libffi.so.8`` -> ``ffi``; ``libyaml-0.so.2`` -> ``yaml-0``."""
    m = _LINK_NAME.match(os.path.basename(soname_or_file))
    return m.group(1) if m else None


def is_external(name: str, libs: LibraryConfig) -> bool:
    return name not in libs["allowed"] and not _NEVER.match(name)


def search_dirs(args: list[str], libs: LibraryConfig) -> list[str]:
    dirs = []
    for i, a in enumerate(args):
        if a == "-L" and i + 1 < len(args):
            dirs.append(args[i + 1])
        elif a.startswith("-L") and len(a) > 2:
            dirs.append(a[2:])
    return dirs + list(libs["search_dirs"])


def find_archive(name: str, dirs: list[str]) -> str | None:
    for d in dirs:
        for candidate in (f"lib{name}_pic.a", f"lib{name}.a"):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


def find_shared(name: str, dirs: list[str]) -> str | None:
    for d in dirs:
        path = os.path.join(d, f"lib{name}.so")
        if os.path.exists(path):
            return path
    return None


def mode_of(name: str, libs: LibraryConfig) -> str:
    """"exclude", "static", "bundle" or "auto", from the [tool.manywheel] lists."""
    for mode, names in (("exclude", libs["exclude"]), ("static", libs["static"]), ("bundle", libs["bundle"])):
        if name in names:
            return mode
    return "auto"


def library_arg(args: list[str], i: int) -> tuple[str | None, str | None, int]:
    """(link name, shared library path or None, arguments used) of the library named at ``args[i]``."""
    a = args[i]
    if a == "-l" and i + 1 < len(args):
        return args[i + 1], None, 2
    if a.startswith("-l") and len(a) > 2 and not a.startswith("-l:"):
        return a[2:], None, 1
    if not a.startswith("-") and os.path.isabs(a) and ".so" in os.path.basename(a) and os.path.exists(a):
        return link_name(a), a, 1
    return None, None, 1


class RewrittenLink:
    """What ``rewrite_link`` made of a link (a plain class: the wrapper does without ``typing``)."""

    __slots__ = ("args", "bundled", "static", "notes", "chosen_static")

    def __init__(self, args: list[str], bundled: list[BundledEntry], static: list[str], notes: list[str],
                 chosen_static: bool) -> None:
        self.args = args  # the link's arguments, external libraries replaced
        self.bundled = bundled  # the bundled copies
        self.static = static  # the archives linked statically in place of -lNAME (absolute, for the link log)
        self.notes = notes  # what was done and why, for the build's warnings
        self.chosen_static = chosen_static  # an archive was chosen on manywheel's own initiative (a failed
        # link may be retried bundling)

    def __repr__(self) -> str:
        return "RewrittenLink(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


def rewrite_link(args: list[str], cfg: WrapperConfig, prefer_static: bool, one_copy: frozenset[str] = frozenset()
                 ) -> RewrittenLink:
    """The link with external libraries linked statically, bundled or left to the linker.

    ``prefer_static`` False: "auto" libraries are bundled even when an archive exists
    (the retry after a static link failed).  ``one_copy``: "auto" libraries bundled because a
    bundled library needs their shared library too (one copy of a library in the process).
    """
    libs = cfg["libs"]
    if libs is None:
        return RewrittenLink(list(args), [], [], [], False)
    dirs = search_dirs(args, libs)
    out: list[str] = []
    bundled: list[BundledEntry] = []
    static: list[str] = []
    notes: list[str] = []
    chosen_static = False
    provided_used = False
    auto_static: dict[str, str | None] = {}  # linked statically on manywheel's choice -> its shared library
    openmp = openmp_copy(args, cfg, bundled, notes)
    i = 0
    while i < len(args):
        name, shared, used = library_arg(args, i)
        if args[i].startswith("-l:") and link_name(args[i][3:]) in _OPENMP:
            name = link_name(args[i][3:])
        given = provided_arg(args, i, libs, dirs)
        built = from_source_arg(args, i, libs)
        if built is not None:  # built from source for the baseline: only its prefix may serve it
            name, libdir = built
            archive = find_archive(name, [libdir])
            if archive is None:  # built shared: bundled from the prefix
                out += _replace(name, os.path.join(libdir, f"lib{name}.so"), "bundle", [libdir], libs,
                                cfg["state_dir"], prefer_static, bundled, notes)
            else:
                after, missing, pc = static_closure(name, [libdir] + dirs, libs)
                if missing is not None:
                    raise LinkError(f"lib{name} is built from source (from-source), and its {pc} --static needs "
                                    f"lib{missing}, which has no archive on the library search path\n  hint: add "
                                    f"the library that ships lib{missing} to from-source")
                static += [os.path.abspath(a) for a in [archive] + after if a.endswith(".a")]
                out += [archive] + after
        elif openmp is not None and name in _OPENMP:
            if f"-l:{openmp}" not in out:
                out.append(f"-l:{openmp}")
        elif given is not None:
            out += given[0]
            used = given[1]
            provided_used = True
        elif name is None or not is_external(name, libs) or (shared or "").startswith(cfg["state_dir"]):
            out += args[i:i + used]
        else:
            here = [os.path.dirname(shared)] + dirs if shared else dirs
            mode = mode_of(name, libs)
            mode = "bundle" if mode == "auto" and name in one_copy else mode
            replaced = _replace(name, shared, mode, here, libs, cfg["state_dir"], prefer_static, bundled, notes)
            if replaced[0].endswith(".a"):  # with the archives of its closure
                static += [os.path.abspath(a) for a in replaced if a.endswith(".a")]
                chosen_static = chosen_static or mode == "auto"
                if mode == "auto":
                    auto_static[name] = find_shared(name, here)
            out += replaced
        i += used
    clash = _needed_by_bundled(auto_static, bundled, dirs, libs)
    if clash:
        again = rewrite_link(args, cfg, prefer_static, one_copy | frozenset(clash))
        again.notes += [f"lib{name} is bundled, not linked statically: the bundled {by} needs {soname} too (one "
                        "copy of it in the process)" for name, (soname, by) in sorted(clash.items())]
        return again
    if openmp is not None:  # -fopenmp's own -lgomp finds the runtime's linker script first
        out = ["-L" + os.path.join(cfg["state_dir"], "openmp")] + out
    if bundled:
        out += ["-L" + os.path.join(cfg["state_dir"], "bundle")]
    if bundled or (provided_used and libs["bundle_enabled"]):  # an editable build's module stays in the tree
        out += ["-Wl,-rpath," + PLACEHOLDER]
    return RewrittenLink(out, bundled, static, notes, chosen_static)


def _needed_by_bundled(auto_static: dict[str, str | None], bundled: list[BundledEntry], dirs: list[str],
                       libs: LibraryConfig) -> dict[str, tuple[str, str]]:
    """The libraries linked statically on manywheel's choice whose shared library a bundled library
    needs, directly or further down (``name -> (its soname, the bundled library)``): linked both
    ways, one process would hold two copies of the library."""
    wanted = {}
    for name, shared in auto_static.items():
        if shared is not None:
            with open(shared, "rb") as f:
                try:
                    soname = read_soname(f.read())
                except ElfEditError:
                    soname = None
            wanted[soname or os.path.basename(shared)] = name
    if not wanted or not bundled:
        return {}
    clash: dict[str, tuple[str, str]] = {}
    for entry in bundled:
        seen: set[str] = set()
        pending = [entry["source"]]
        while pending:
            path = pending.pop()
            try:
                with open(path, "rb") as f:
                    needed = read_needed(f.read())
            except (OSError, ElfEditError):
                continue
            for soname in needed:
                if soname in seen or not is_external(link_name(soname) or soname, libs):
                    continue
                seen.add(soname)
                if soname in wanted:
                    clash[wanted[soname]] = (soname, os.path.basename(entry["source"]))
                found = next((os.path.join(d, soname) for d in [os.path.dirname(path)] + dirs
                              if os.path.exists(os.path.join(d, soname))), None)
                if found:
                    pending.append(found)
    return clash


def uses_openmp(args: list[str]) -> bool:
    """Whether a link needs an OpenMP runtime: -fopenmp (gcc adds -lgomp itself), automatic
    parallelization, or the runtime named (-lgomp, -lomp, -liomp5, a path to one)."""
    for i, a in enumerate(args):
        if a == "-fopenmp" or a.startswith("-fopenmp=") or (
                a.startswith("-ftree-parallelize-loops=") and a.split("=", 1)[1] not in ("0", "1")):
            return True
        name = link_name(a[3:]) if a.startswith("-l:") else library_arg(args, i)[0]
        if name in _OPENMP:
            return True
    return False


def openmp_copy(args: list[str], cfg: WrapperConfig, bundled: list[BundledEntry], notes: list[str]) -> str | None:
    """The file name of the bundled OpenMP runtime this link uses instead of the host's, or None
    when the link uses none or the runtime is left to the linker (``exclude``, no baseline).

    The runtime is libgomp built for the baseline (``manywheel.toolchain.openmp``), built by the command in
    the configuration when the first link needs it.  The copy goes into ``bundle/`` under its unique
    name, and ``openmp/libgomp.so`` becomes a linker script naming it, so the ``-lgomp`` gcc adds
    for ``-fopenmp`` links the copy too."""
    libs = cfg["libs"]
    if libs is None or libs["openmp"] is None or not uses_openmp(args):
        return None
    modes = {mode_of(name, libs) for name in _OPENMP}
    if "exclude" in modes:
        return None
    if "static" in modes:
        raise LinkError("[tool.manywheel] static lists the OpenMP runtime, and libgomp.a cannot be linked into a "
                        "shared object (its thread-local storage is initial-exec)\n  hint: remove it from static: "
                        "manywheel bundles an OpenMP runtime built for the baseline")
    runtime = libs["openmp"]["runtime"]
    if not os.path.isfile(runtime):
        import subprocess

        config = os.path.join(cfg["state_dir"], "toolchain.marshal")
        code = subprocess.call(libs["openmp"]["build"] + [config])
        if code != 0 or not os.path.isfile(runtime):
            raise LinkError("the OpenMP runtime for the baseline could not be built (the reason is above)")
    copy = bundle_copy(runtime, os.path.join(cfg["state_dir"], "bundle"))
    unique = os.path.basename(copy)
    scripts = os.path.join(cfg["state_dir"], "openmp")
    os.makedirs(scripts, exist_ok=True)
    for name in _OPENMP:
        script = os.path.join(scripts, f"lib{name}.so")
        if not os.path.exists(script):
            tmp = f"{script}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write("/* manywheel: the OpenMP runtime built for the baseline */\nINPUT(-l:%s)\n" % unique)
            os.replace(tmp, script)
    bundled.append({"name": unique, "path": copy, "source": runtime})
    notes.append(f"OpenMP: bundling libgomp built for the baseline as {unique} (not the host's libgomp.so.1)")
    return unique


def from_source_arg(args: list[str], i: int, libs: LibraryConfig) -> tuple[str, str] | None:
    """(link name, its prefix's library directory) when ``args[i]`` names a library built from source
    (``from-source``); a LinkError when it names the host's copy of one by path or file name."""
    built = libs.get("from_source") or {}
    if not built:
        return None
    a = args[i]
    if a.startswith("-l:"):
        name = link_name(a[3:]) or (a[3:-2][3:] if a.endswith(".a") and a[3:].startswith("lib") else None)
        if name in built:
            raise LinkError(f"the link names {a}, and lib{name} is built from source for the baseline "
                            f"(from-source): the link must take it from {built[name]}\n  hint: link it with "
                            f"-l{name} (pkg-config or its *-config script give that)")
        return None
    name, shared, _used = library_arg(args, i)
    if name is None and not a.startswith("-") and a.endswith(".a") and os.path.basename(a).startswith("lib"):
        name, shared = os.path.basename(a)[3:-2], a
    if name is None or name not in built:
        return None
    if shared is not None and os.path.dirname(os.path.realpath(shared)) != os.path.realpath(built[name]):
        raise LinkError(f"the link names {shared}, the host's lib{name}, and lib{name} is built from source for the "
                        f"baseline (from-source): nothing from the host may serve it\n  hint: let the build find "
                        f"it with pkg-config or its *-config script (they name {built[name]}), not by path")
    return name, built[name]


def host_copies(output: str, libs: LibraryConfig) -> list[str]:
    """The sonames a linked file needs that belong to libraries built from source: a copy from the
    host slipped into the link (through a library that needs it, or a path the wrapper did not see)."""
    built = libs.get("from_source") or {}
    if not built:
        return []
    try:
        with open(output, "rb") as f:
            needed = read_needed(f.read())
    except (OSError, ElfEditError):
        return []
    return [soname for soname in needed if link_name(soname) in built and not re.search(r"-[0-9a-f]{8}\.so", soname)]


def provided_arg(args: list[str], i: int, libs: LibraryConfig, dirs: list[str]) -> tuple[list[str], int] | None:
    """(the arguments to link with, arguments used) when ``args[i]`` names a library another wheel
    provides (``provided-by``), else None.  Left to the linker as given, unless the name is not
    on its search path: then the provider's installed file is named (a provider often installs
    ``libcudart.so.13`` only, which ``-lcudart`` would not find)."""
    provided = libs["provided"]
    if not provided:
        return None
    name: str | None
    file: str | None
    if args[i].startswith("-l:"):
        name, file, used = args[i][3:], args[i][3:], 1
    else:
        name, shared, used = library_arg(args, i)
        if shared is not None:  # named by path: the linker finds it as it is
            return ([shared], 1) if os.path.basename(shared) in provided or name in provided else None
        file = None
    if name is None or name not in provided:
        return None
    found = any(os.path.exists(os.path.join(d, file)) for d in dirs) if file else find_shared(name, dirs)
    return (args[i:i + used] if found else [provided[name]]), used


def _replace(name: str, shared: str | None, mode: str, dirs: list[str], libs: LibraryConfig, state_dir: str,
             prefer_static: bool, bundled: list[BundledEntry], notes: list[str]) -> list[str]:
    as_given = [shared] if shared else [f"-l{name}"]
    if mode == "exclude":
        return as_given
    # An archive-only library (a project's own from build_clib, libcudart_static.a) is static by
    # nature: on the retry after a failed static link too, where the others are bundled.
    static_first = prefer_static or (shared or find_shared(name, dirs)) is None
    archive = find_archive(name, dirs) if mode == "static" or (mode == "auto" and static_first) else None
    if mode == "static" and archive is None:
        raise LinkError(
            f"[tool.manywheel] static lists {name!r}, but neither lib{name}_pic.a nor lib{name}.a is on the "
            f"library search path ({':'.join(dirs)})\n  hint: install the static library (Debian: the -dev "
            f"package), or move {name!r} to [tool.manywheel] bundle")
    if archive is not None:
        after, missing, pc = static_closure(name, dirs, libs)
        if missing is not None and mode == "static":
            raise LinkError(
                f"[tool.manywheel] static lists {name!r}, and {os.path.basename(archive)} needs lib{missing} "
                f"({pc} --static), which has no archive (lib{missing}_pic.a or lib{missing}.a) on the library "
                f"search path ({':'.join(dirs)})\n  hint: install lib{missing}'s static library, or move {name!r} "
                f"to [tool.manywheel] bundle (it is then bundled with what it needs)")
        if missing is None:
            if mode == "auto" and find_shared(name, dirs) is not None:  # an archive-only library is static by nature
                notes.append(f"linked lib{name} statically from {archive}"
                             + (f" with what it needs ({', '.join(os.path.basename(a) for a in after)})" if after else "")
                             + f": it is outside the policy's allow-list ([tool.manywheel] bundle = [\"{name}\"] "
                             "bundles it instead)")
            return [archive] + after
        notes.append(f"lib{name} is bundled, not linked statically: {os.path.basename(archive)} needs lib{missing} "
                     f"({pc} --static), which has no archive on the library search path")
    if not libs["bundle_enabled"]:
        return as_given  # an editable install runs here, against the host's library
    shared = shared or find_shared(name, dirs)
    if shared is None:
        if archive is None:
            raise LinkError(f"the link needs lib{name}, and neither lib{name}.so nor lib{name}_pic.a / lib{name}.a is "
                            f"on the library search path ({':'.join(dirs)})\n  hint: install it (Debian: the "
                            f"lib{name}-dev package, or whichever ships lib{name}.so), or add its directory with -L")
        raise LinkError(f"lib{name}: {os.path.basename(archive)} cannot be linked with what it needs, and there is no "
                        f"lib{name}.so to bundle instead (searched {':'.join(dirs)})\n  hint: install the shared "
                        f"library, or the static libraries it needs")
    copy = bundle_copy(shared, os.path.join(state_dir, "bundle"))
    bundled.append({"name": os.path.basename(copy), "path": copy, "source": os.path.realpath(shared)})
    why = "" if mode == "bundle" or archive is not None else (
        f" (no static lib{name}.a on the library search path)" if find_archive(name, dirs) is None
        else " (its archive cannot be linked into a shared object)")
    notes.append(f"bundling {os.path.realpath(shared)} into the wheel as {os.path.basename(copy)}{why}")
    return [f"-l:{os.path.basename(copy)}"]


def pc_file(name: str, first: str | None = None) -> str | None:
    """The pkg-config file whose ``Libs`` name ``-l<name>`` (``lib<name>.pc`` and ``<name>.pc`` first), or None;
    looked for where pkg-config looks (``PKG_CONFIG_PATH``, then ``PKG_CONFIG_LIBDIR`` or pkg-config's own
    directories), or only in ``first`` when it is given (a library built from source: its prefix's)."""
    import subprocess

    if first is not None:
        dirs = [first]
    else:
        default = os.environ.get("PKG_CONFIG_LIBDIR")
        if default is None:
            try:
                default = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"], capture_output=True,
                                         text=True).stdout.strip()
            except OSError:
                return None
        dirs = [d for d in os.environ.get("PKG_CONFIG_PATH", "").split(os.pathsep) + default.split(os.pathsep) if d]
    flag = re.compile(r"(^|\s)-l%s(\s|$)" % re.escape(name))
    files = [os.path.join(d, f) for d in dict.fromkeys(dirs) if os.path.isdir(d)
             for f in sorted(os.listdir(d)) if f.endswith(".pc")]
    files.sort(key=lambda f: os.path.basename(f) not in (f"lib{name}.pc", f"{name}.pc"))
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        if any(line.startswith("Libs:") and flag.search(line[5:]) for line in lines):
            return path
    return None


def static_closure(name: str, dirs: list[str], libs: LibraryConfig) -> tuple[list[str], str | None, str]:
    """What ``lib<name>.a`` needs linked after it, from its pkg-config file (``--static``): the archives
    of the external libraries and ``-l`` for the allowed ones; the first external library with no
    archive (None when every one has one); the pkg-config file ("" when none names the library:
    the archive is taken alone, and the link's check finds what it leaves unresolved)."""
    import subprocess

    built = libs.get("from_source") or {}
    pc = pc_file(name, os.path.join(built[name], "pkgconfig") if name in built else None)
    if pc is None:
        return [], None, ""
    proc = subprocess.run(["pkg-config", "--static", "--libs-only-l", pc], capture_output=True, text=True)
    if proc.returncode != 0:
        return [], None, ""
    after: list[str] = []
    for arg in proc.stdout.split():
        dep = arg[2:] if arg.startswith("-l") else None
        if dep is None or dep == name:
            continue
        if dep in built:  # built from source too: from its prefix only
            archive = find_archive(dep, [built[dep]])
            if archive is None:
                return [], dep, os.path.basename(pc)
            after.append(archive)
        elif dep in ("stdc++", "c++"):
            after += ["-Wl,-Bstatic", "-lstdc++", "-Wl,-Bdynamic"]  # the baseline links libstdc++ statically
        elif not is_external(dep, libs) or mode_of(dep, libs) == "exclude":
            after.append(arg)
        else:
            archive = find_archive(dep, dirs)
            if archive is None:
                return [], dep, os.path.basename(pc)
            after.append(archive)
    return list(dict.fromkeys(after)), None, os.path.basename(pc)


def unresolved(output: str, args: list[str], cfg: WrapperConfig) -> list[str] | None:
    """The strong, unversioned undefined symbols of a linked shared object that no library it
    needs defines (Python's API aside): what a static archive left without its dependencies.
    None when a library it needs is not found here (then nothing can be judged)."""
    libs = cfg["libs"]
    assert libs is not None
    names = [sym for kind, sym in _nm(cfg.get("nm") or "nm", output, "--undefined-only")
             if kind == "U" and "@" not in sym and not sym.startswith(("Py", "_Py"))]
    if not names:
        return []
    with open(output, "rb") as f:
        needed = read_needed(f.read())
    dirs = [os.path.join(cfg["state_dir"], "bundle")] + search_dirs(args, libs)
    defined: set[str] = set()
    for soname in needed:
        path = next((os.path.join(d, soname) for d in dirs if os.path.exists(os.path.join(d, soname))), None)
        if path is None:
            return None
        defined.update(sym.split("@")[0] for _kind, sym in _nm(cfg.get("nm") or "nm", path, "--defined-only"))
    return sorted(n for n in names if n not in defined)


def _nm(nm: str, path: str, which: str) -> list[tuple[str, str]]:
    import subprocess

    proc = subprocess.run([nm, "-D", which, path], capture_output=True, text=True)
    rows = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            rows.append((parts[-2], parts[-1]))
    return rows


def bundle_copy(library: str, directory: str) -> str:
    """Copy ``library`` into ``directory`` under a name unique to its content, without DT_SONAME."""
    real = os.path.realpath(library)
    with open(real, "rb") as f:
        data = f.read()
    try:
        soname = read_soname(data) or os.path.basename(real)
        stripped = remove_soname(data)
    except ElfEditError as e:
        raise LinkError(f"cannot bundle {real}: {e}") from e
    stem, dot, version = soname.partition(".so")
    unique = f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}{dot}{version}"
    os.makedirs(directory, exist_ok=True)
    dest = os.path.join(directory, unique)
    if not os.path.exists(dest):
        # Written whole, then renamed: a parallel link never sees half a copy.  (The wrapper
        # imports nothing outside manywheel._wrapper, so not manywheel.files' helper.)
        tmp = f"{dest}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(stripped)
        shutil.copymode(real, tmp)
        os.replace(tmp, dest)
    return dest
