#!/usr/bin/env bash
# Cross-compile CPython VERSION on this x86_64 host and install it at /usr/local in the
# foreign root of ARCH that tools/crossroot.sh made, so that wheels of that version can be
# tested there (the roots hold only their Debian suite's python3).
#
#   tools/rootpython.sh ARCH VERSION [--roots DIR]
#
# ARCH is one of aarch64 armv7l ppc64le s390x i686; VERSION is 3.9, 3.11 or 3.13. The root
# is DIR/cross-roots/ARCH (DIR as `manywheel wheels --roots`), else $MWTEST_CROSSROOTS/ARCH,
# else ~/.cache/manywheel/cross-roots/ARCH. The source is the upstream tarball (the .orig)
# of Debian's python3.X source package (3.9 from bullseye, 3.11 from bookworm, 3.13 from
# trixie), fetched with a private apt configuration into ~/.cache/manywheel/sources/rootpython
# and kept there. Debian's cross compiler (<triplet>-gcc) builds it; configure needs a build
# Python of the same version whose patch release is not older than the source's, found in
# pyenv ($PYENV_ROOT/versions/VERSION.*) or on PATH; without one (trixie's 3.13.5 and pyenv's
# 3.13.0), one is built for this host from the same tarball (native, no optimizations; once,
# about 8 minutes of two busy cores, 110 MB) into ~/.cache/manywheel/rootpython/build-python/.
# The interpreter is minimal: the core and the stdlib's pure-C modules, plus zlib, bz2, lzma,
# sqlite3 and _uuid where the host has their (architecture-independent) headers and the root
# the library; no ssl, _hashlib, ctypes (their headers are per architecture). `make
# altinstall` (no python3 to shadow the root's own) writes it to a temporary tree next to the
# root, whose pieces are renamed into the root once built; it is checked as manywheel's tests
# run it (qemu-ARCH-static -L ROOT ROOT/usr/local/bin/python3.X), then
# ROOT/.manywheel-pythonVERSION-complete marks it (format, python, version, created) and a
# second run does nothing. The build links against the cross compiler's glibc, so the root's
# glibc must be at least as new (bookworm ppc64le and s390x roots, not bullseye ones).
set -euo pipefail

# Bump when what the script installs changes: an older marker means rebuild.
# src/manywheel/matrix/roots.py reads the same marker.
readonly PY_FORMAT=1
readonly ROOT_FORMAT=1  # tools/crossroot.sh's marker
readonly BUILDPY_FORMAT=1  # the host build Python's marker
declare -Ar SOURCE_SUITE=([3.9]=bullseye [3.11]=bookworm [3.13]=trixie)
readonly ALL_ARCHES="aarch64 armv7l ppc64le s390x i686"
readonly ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# What the check needs: the core and the pure-C stdlib modules the tests use.
readonly CHECK_PY='import platform, os, sys, json, math, _struct, unittest, select, _socket, array, binascii
import _random, _sha1, _md5, _datetime, unicodedata, _posixsubprocess, _pickle
import _json, _bisect, _heapq, itertools, mmap, fcntl, termios, resource, subprocess, tempfile
import hashlib, _decimal, pyexpat, _elementtree, _csv, _pickle, _queue, _contextvars, _asyncio
try:
    import _sha256, _sha512
except ImportError:
    import _sha2  # 3.12 and later
hashlib.sha256(b""); hashlib.md5(b"")
class T(unittest.TestCase):
    def test_it(self):
        self.assertEqual(json.loads(json.dumps({"a": [1.5]})), {"a": [1.5]})
r = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(unittest.defaultTestLoader.loadTestsFromTestCase(T))
assert r.wasSuccessful(), r
missing = []
for m in ("zlib", "bz2", "lzma", "ssl", "ctypes", "sqlite3", "readline", "curses", "dbm.gnu", "_hashlib", "_uuid"):
    try:
        __import__(m)
    except ImportError:
        missing.append(m)
print(platform.machine(), platform.python_version(), os.confstr("CS_GNU_LIBC_VERSION"), sys.prefix)
print("missing:", " ".join(missing) or "none")'

export DEBIAN_FRONTEND=noninteractive LC_ALL=C

ME=rootpython
# shellcheck source=tools/debian-root-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-root-lib.sh"

usage() {
    sed -n '2,/^set /s/^# \{0,1\}//p' "$0"
}

# arch_field ARCH FIELD: FIELD (gnu, multiarch, qemu) of ARCH, one of ALL_ARCHES.
# shellcheck disable=SC2086  # one argument per architecture
arch_field() { arch_table_field "$1" "$2" $ALL_ARCHES; }

# marker_field FILE KEY: KEY's value in a KEY=VALUE marker file.
marker_field() {
    awk -F= -v k="$2" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$1"
}

# version_ge A B: dotted version A >= B.
version_ge() {
    [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1) == "$2" ]]
}

# find_build_python VERSION MIN CACHE: the newest interpreter of VERSION, patch release MIN or
# newer, among pyenv's ($PYENV_ROOT/versions/VERSION.*), those on PATH (pyenv shims resolved by
# running them) and the ones this script built (CACHE/build-python/*); prints its real path,
# or fails after saying which were too old.
find_build_python() {
    local version=$1 min=$2 cache=$3 pyenv=${PYENV_ROOT:-$HOME/.pyenv} cand info best="" best_v=""
    local cands=() too_old=()
    mapfile -t cands < <(
        find "$pyenv/versions" "$cache/build-python" -mindepth 3 -maxdepth 3 \
            -path "*/$version.*/bin/python$version" 2>/dev/null
        type -ap "python$version" || true)
    for cand in "${cands[@]}"; do
        [[ -x $cand ]] || continue
        case $cand in
            "$cache"/build-python/*)
                marker_ok "${cand%/bin/*}/.manywheel-build-python-complete" "$BUILDPY_FORMAT" ||
                    continue ;;
        esac
        # A pyenv shim of a version not selected fails here: skipped.
        info=$("$cand" -S -c 'import sys; print("%d.%d.%d" % sys.version_info[:3], sys.executable)' \
            2>/dev/null) || continue
        local v=${info%% *} exe=${info#* }
        [[ $v == "$version".* && -x $exe ]] || continue
        if ! version_ge "$v" "$min"; then
            too_old+=("$exe ($v)")
        elif [[ -z $best_v ]] || ! version_ge "$best_v" "$v"; then
            best=$exe best_v=$v
        fi
    done
    if [[ -z $best ]]; then
        ((${#too_old[@]} == 0)) || say "older than the source ($min), not usable: ${too_old[*]}" >&2
        return 1
    fi
    printf '%s\n' "$best"
}

# host_build TREE SOURCE PREFIX VERSION: configure (native, no optimizations), make and make
# altinstall into TREE/dest a host interpreter of SOURCE for PREFIX. Runs as one logged step.
# shellcheck disable=SC2329  # run by make_build_python through declare -f
host_build() {
    local tree=$1 source=$2 prefix=$3 version=$4
    mkdir -p "$tree/src"
    tar -xf "$source" -C "$tree/src" --strip-components=1
    cd "$tree/src"
    nice ./configure --prefix="$prefix" --without-ensurepip
    nice make -j2
    nice make altinstall DESTDIR="$tree/dest"
    rm -rf "$tree/dest$prefix/lib/python$version/test"
    find "$tree/dest$prefix/lib" -name "libpython$version*.a" -delete
}

# make_build_python VERSION SOURCE SRC_VERSION CACHE: build CPython SRC_VERSION for this host
# from SOURCE (the tarball the cross build uses) into CACHE/build-python/SRC_VERSION, once
# (its marker says it is complete; a lock keeps two runs from building it together); set
# BUILD_PYTHON to its interpreter. Python.org is not needed, nor pyenv.
BUILD_PYTHON=""
make_build_python() {
    local version=$1 source=$2 src_version=$3 cache=$4
    local base=$4/build-python prefix=$4/build-python/$3 tmp log start=$SECONDS
    local marker=$prefix/.manywheel-build-python-complete
    BUILD_PYTHON=$prefix/bin/python$version
    mkdir -p "$base"
    exec 8>"$prefix.lock"
    flock 8
    if marker_ok "$marker" "$BUILDPY_FORMAT"; then
        exec 8>&-
        say "build Python: $BUILD_PYTHON (built earlier)"
        return
    fi
    local old
    for old in "$base/.$src_version".tmp.* "$prefix"; do
        [[ -e $old ]] && { say "removing incomplete $old"; remove_tree "$old"; }
    done
    log=$prefix.log
    : >"$log"
    say "************************************************************************"
    say "no build Python $src_version or newer (pyenv, PATH): building one for this host"
    say "from ${source##*/} into $prefix"
    say "(once, reused by later runs; several minutes of two cores; log: $log)"
    say "************************************************************************"
    tmp=$(mktemp -d "$base/.$src_version.tmp.XXXXXX")
    CLEANUP_DIR=$tmp
    if ! run_logged "$log" bash -c "set -euo pipefail; $(declare -f host_build); host_build \"\$@\"" \
        host_build "$tmp" "$source" "$prefix" "$version"
    then
        show_log "$log"
        die "building the host build Python $src_version failed (log: $log)"
    fi
    local got
    got=$("$tmp/dest$prefix/bin/python$version" -S -c \
        'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>&1) ||
        die "the host build Python does not start: $got"
    [[ $got == "$src_version" ]] || die "the host build Python says $got, not $src_version"
    printf 'format=%s\npython=%s\nversion=%s\ncreated=%s\nsource=%s\nseconds=%s\n' \
        "$BUILDPY_FORMAT" "$BUILD_PYTHON" "$got" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${source##*/}" \
        "$((SECONDS - start))" >"$tmp/dest$marker"
    # The prefix is baked into the interpreter: the tree goes to exactly that path, whole.
    mv -T "$tmp/dest$prefix" "$prefix"
    remove_tree "$tmp"
    CLEANUP_DIR=""
    exec 8>&-
    say "************************************************************************"
    say "BUILT the host build Python $got in $((SECONDS - start)) s:" \
        "$BUILD_PYTHON ($(du -sh "$prefix" | cut -f1))"
    say "************************************************************************"
}

# cross_glibc CC: the glibc version CC's headers and libraries are (2.36).
cross_glibc() {
    printf '#include <features.h>\nGLIBC __GLIBC__.__GLIBC_MINOR__\n' | "$1" -E -P - |
        awk '$1 == "GLIBC" { gsub(/ /, "", $0); sub(/^GLIBC/, ""); print }'
}

# fetch_source VERSION CACHE: set SOURCE_TARBALL to the path of the upstream tarball of
# Debian's python3.X source package of SOURCE_SUITE[VERSION], downloading it into CACHE once.
SOURCE_TARBALL=""
fetch_source() {
    local version=$1 cache=$2 suite=${SOURCE_SUITE[$1]} orig mirror work
    orig=$(find "$cache" -maxdepth 1 -name "python${version}_${version}.*.orig.tar.*" ! -name "*.asc" 2>/dev/null |
        sort -V | tail -n 1)
    if [[ -n $orig ]]; then
        say "source: $orig (cached)"
        SOURCE_TARBALL=$orig
        return
    fi
    mirror=$(debian_mirror)
    work=$cache/apt-$suite
    private_apt_source "$work" "$suite"
    say "fetching the python$version source package from $mirror $suite"
    local dl
    dl=$(mktemp -d "$cache/.download.XXXXXX")
    CLEANUP_DIR=$dl
    run_logged "$work/apt.log" apt-get "${APT_OPTS[@]}" update ||
        { show_log "$work/apt.log"; die "apt-get update for deb-src $suite failed"; }
    # shellcheck disable=SC2016  # expanded by that sh
    run_logged "$work/apt.log" sh -c 'cd "$1" && shift && exec "$@"' sh "$dl" \
        apt-get "${APT_OPTS[@]}" source --download-only "python$version" ||
        { show_log "$work/apt.log"; die "apt-get source python$version failed"; }
    orig=$(find "$dl" -maxdepth 1 -name "python${version}_${version}.*.orig.tar.*" ! -name "*.asc" | head -n 1)
    [[ -n $orig ]] || die "no python${version}_*.orig.tar.* in the source package: $(ls "$dl")"
    mv "$orig" "$cache/"
    remove_tree "$dl"
    CLEANUP_DIR=""
    SOURCE_TARBALL=$cache/${orig##*/}
}

# make_deps DEPS ROOT MULTIARCH: in DEPS/lib, lib*.so links to the libraries of the root
# (which has no -dev packages) whose headers are architecture-independent: Debian's cross gcc
# searches the host's /usr/include for those, where the host's -dev packages put them. Only
# roots at least as new as the host's glibc take the interpreter, so the host's headers are
# not newer than the root's libraries. Prints the modules they make possible.
make_deps() {
    local deps=$1 root=$2 multiarch=$3 entry module header soname lib made=()
    mkdir -p "$deps/lib" "$deps/pkgconfig"
    for entry in zlib:zlib.h:libz.so.1 bz2:bzlib.h:libbz2.so.1.0 lzma:lzma.h:liblzma.so.5 \
        sqlite3:sqlite3.h:libsqlite3.so.0 uuid:uuid/uuid.h:libuuid.so.1; do
        IFS=: read -r module header soname <<<"$entry"
        lib=$(find "$root/usr/lib/$multiarch" "$root/lib/$multiarch" -maxdepth 1 -name "$soname" \
            2>/dev/null | head -n 1)
        [[ -n $lib && -f /usr/include/$header ]] || continue
        ln -s "$lib" "$deps/lib/${soname%%.so*}.so"
        made+=("$module")
    done
    printf '%s' "${made[*]}"
}

# build TREE SOURCE GNU BUILD_PYTHON VERSION: configure, make and make altinstall into
# TREE/dest, with the libraries make_deps put in TREE/deps. Runs as one logged step.
# shellcheck disable=SC2329  # run by main through declare -f
build() {
    local tree=$1 source=$2 gnu=$3 buildpy=$4 version=$5
    local deps=$tree/deps src=$tree/src extra=()
    mkdir -p "$src"
    tar -xf "$source" -C "$src" --strip-components=1
    # configure cannot run test programs of the target: answer what it would ask them.
    printf '%s\n' ac_cv_file__dev_ptmx=yes ac_cv_file__dev_ptc=no ac_cv_buggy_getaddrinfo=no \
        >"$tree/config.site"
    # 3.11 and later take the build Python as an option; 3.9 finds python3.9 on PATH.
    version_ge "$version" 3.11 && extra+=(--with-build-python="$buildpy")
    cd "$src"
    # pkg-config would find the host's x86_64 libraries: it sees only DEPS.
    PATH="$(dirname "$buildpy"):$PATH" CONFIG_SITE="$tree/config.site" \
        PKG_CONFIG_LIBDIR="$deps/pkgconfig" PKG_CONFIG_PATH="" \
        nice ./configure --build="$(gcc -dumpmachine)" --host="$gnu" --prefix=/usr/local \
        --enable-ipv6 --without-ensurepip "${extra[@]}" \
        CC="$gnu-gcc" AR="$gnu-ar" READELF="$gnu-readelf" \
        LDFLAGS="-L$deps/lib"
    PATH="$(dirname "$buildpy"):$PATH" nice make -j2
    PATH="$(dirname "$buildpy"):$PATH" nice make altinstall DESTDIR="$tree/dest"
    # CPython's own test suite (tens of MB) and the static libpython nobody links in the root.
    rm -rf "$tree/dest/usr/local/lib/python$version/test"
    find "$tree/dest/usr/local/lib" -name "libpython$version*.a" -delete
}

# pieces TREE VERSION: what altinstall wrote under TREE, relative to TREE, one entry to rename
# each (lib/python3.9 whole, bin/python3.9 alone), the interpreter itself last.
pieces() {
    (cd "$1" && find usr/local -mindepth 2 \( -type d -name '*python*' -prune -print \) -o \
        \( ! -type d -print \)) | awk -v py="usr/local/bin/python$2" '
            $0 == py { last = $0; next } { print } END { if (last != "") print last }'
}

# run_guest QEMU ROOT PYTHON ARG...: PYTHON (a host path or one inside the root) under
# qemu -L ROOT, in the clean environment manywheel's tests give it.
run_guest() {
    local qemu=$1 root=$2
    shift 2
    env -i PATH="$ROOT_PATH" HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 PYTHONNOUSERSITE=1 \
        QEMU_LD_PREFIX="$root" "$qemu" -L "$root" "$@"
}

# check_glibc ROOT VERSION GLIBC: no ELF file installed needs a glibc newer than GLIBC.
check_glibc() {
    local need
    need=$(find "$1/usr/local/bin/python$2" "$1/usr/local/lib/python$2/lib-dynload" -type f \
        -exec readelf -V --wide {} + 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' |
        sed 's/GLIBC_//' | sort -uV | tail -n 1)
    [[ -n $need ]] || die "found no GLIBC_ version in $1/usr/local/bin/python$2 (readelf -V)"
    version_ge "$3" "$need" ||
        die "python$2 needs GLIBC_$need but the root has glibc $3"
    printf '%s\n' "$need"
}

main() {
    local args=() dir="" arch version root gnu multiarch qemu glibc cc_glibc buildpy
    while (($#)); do
        case $1 in
            --roots) (($# > 1)) || die "--roots needs a directory"; dir=${2%/}/cross-roots; shift ;;
            -h | --help) usage; exit 0 ;;
            -*) die "unknown option '$1' (usage: tools/rootpython.sh ARCH VERSION [--roots DIR])" ;;
            *) args+=("$1") ;;
        esac
        shift
    done
    ((${#args[@]} == 2)) || die "usage: tools/rootpython.sh ARCH VERSION [--roots DIR]"
    arch=${args[0]} version=${args[1]}
    gnu=$(arch_field "$arch" gnu) || die "unknown architecture '$arch': one of $ALL_ARCHES"
    [[ -n ${SOURCE_SUITE[$version]:-} ]] ||
        die "unsupported version '$version': one of ${!SOURCE_SUITE[*]}"
    multiarch=$(arch_field "$arch" multiarch)
    qemu=$(arch_field "$arch" qemu)
    dir=${dir:-${MWTEST_CROSSROOTS:-$HOME/.cache/manywheel/cross-roots}}
    dir=${dir%/}
    root=$dir/$arch
    local marker=$root/.manywheel-python$version-complete python=/usr/local/bin/python$version
    ME="rootpython: $arch $version"

    # Fast path: nothing to do, no lock.
    if marker_ok "$marker" "$PY_FORMAT"; then
        say "$root$python is ready (cached)"
        exit 0
    fi
    marker_ok "$root/.manywheel-complete" "$ROOT_FORMAT" ||
        die "no complete $arch root at $root (tools/crossroot.sh $arch makes it)"
    [[ $(marker_field "$root/.manywheel-complete" python) != */python$version ]] ||
        die "the $arch root's own Python is $version already" \
            "($(marker_field "$root/.manywheel-complete" python))"
    command -v "$gnu-gcc" >/dev/null ||
        die "no $gnu-gcc: install Debian's cross compiler (apt-get install gcc-$gnu)"
    command -v "$qemu" >/dev/null ||
        die "no $qemu to check the interpreter (apt-get install qemu-user-static)"
    glibc=$(marker_field "$root/.manywheel-complete" glibc)
    cc_glibc=$(cross_glibc "$gnu-gcc")
    version_ge "$glibc" "$cc_glibc" ||
        die "the $arch root's glibc is $glibc but $gnu-gcc links against glibc $cc_glibc:" \
            "the interpreter would need symbols the root lacks (only roots of glibc $cc_glibc" \
            "or newer, such as tools/crossroot.sh's bookworm ones, can take it)"

    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # tools/crossroot.sh's lock on the root: one run at a time; a second finds the work done.
    exec 9>"$root.lock"
    flock 9
    if marker_ok "$marker" "$PY_FORMAT"; then
        say "$root$python is ready (cached)"
        exit 0
    fi
    local tmp name
    for tmp in "$dir/.$arch.python$version".tmp.*; do
        [[ -e $tmp ]] && { say "removing leftover $tmp"; remove_tree "$tmp"; }
    done
    rm -f "$marker"

    local cache pycache start=$SECONDS source log deps_made
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/manywheel/sources/rootpython
    pycache=${XDG_CACHE_HOME:-$HOME/.cache}/manywheel/rootpython
    mkdir -p "$cache" "$pycache"
    fetch_source "$version" "$cache"
    source=$SOURCE_TARBALL
    # The cross build runs the source's own Lib with the build Python: an older patch release
    # fails there (3.13.0 on 3.13.5's linecache), a newer one works (3.9.18 on 3.9.2). Without
    # one, one is built for this host from the same tarball.
    local src_version=${source##*/python"${version}"_}
    src_version=${src_version%%.orig.tar.*}
    if ! buildpy=$(find_build_python "$version" "$src_version" "$pycache"); then
        make_build_python "$version" "$source" "$src_version" "$pycache"
        buildpy=$BUILD_PYTHON
    fi
    local cross_start=$SECONDS
    tmp=$(mktemp -d "$dir/.$arch.python$version.tmp.XXXXXX")
    CLEANUP_DIR=$tmp
    log=$root.python$version.log
    : >"$log"
    deps_made=$(make_deps "$tmp/deps" "$root" "$multiarch")
    say "building ${source##*/} with $gnu-gcc (glibc $cc_glibc) and $buildpy," \
        "linking the root's libraries for: ${deps_made:-none} (log: $log)"
    if ! run_logged "$log" bash -c "set -euo pipefail; $(declare -f build version_ge); build \"\$@\"" \
        build "$tmp" "$source" "$gnu" "$buildpy" "$version"
    then
        show_log "$log"
        die "building CPython $version failed (log: $log)"
    fi
    local built=$((SECONDS - cross_start))
    say "built in $built s"

    # Rename the pieces into the root; the marker, written last, makes them count.
    local rel
    while IFS= read -r rel; do
        mkdir -p "$root/$(dirname "$rel")"
        rm -rf "${root:?}/$rel"
        mv -T "$tmp/dest/$rel" "$root/$rel"
    done < <(pieces "$tmp/dest" "$version")

    # The check runs it as manywheel's tests do: the host path of the root's file (qemu opens
    # the program itself on the host, not under -L), so sys.prefix is the host path too.
    local out need
    out=$(run_guest "$qemu" "$root" "$root$python" -c "$CHECK_PY" 2>&1) ||
        die "$root$python fails to start or to import the stdlib: $out"
    need=$(check_glibc "$root" "$version" "$glibc")
    local full
    full=$(awk 'NR == 1 { print $2 }' <<<"$out")
    [[ $full == "$version".* ]] || die "expected Python $version, the check says: $out"
    name=$marker.tmp
    printf 'format=%s\npython=%s\nversion=%s\ncreated=%s\nsource=%s\nglibc_needed=%s\n' \
        "$PY_FORMAT" "$python" "$full" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${source##*/}" "$need" \
        >"$name"
    mv "$name" "$marker"
    remove_tree "$tmp"
    CLEANUP_DIR=""
    say "ready in $((SECONDS - start)) s (build $built s), $(du -sh "$root/usr/local" | cut -f1)" \
        "in $root/usr/local, needs GLIBC_$need:"
    printf '  %s\n' "${out//$'\n'/$'\n'  }"
}

# Braces: bash parses the whole line before running it, so editing this file while it runs
# cannot make bash read on into changed text.
{ main "$@"; exit; }
