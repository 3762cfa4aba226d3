#!/usr/bin/env bash
# Make (or reuse) a Debian bullseye root (glibc 2.31, python3 3.9) in which tests import
# built wheels, to prove they run on an older glibc than the build host's.
#
#   tools/oldroot.sh [--python311]
#
# ROOT is $MWTEST_OLDROOT, else ~/.cache/manywheel/bullseye-root. The root is built in
# a temporary directory next to ROOT and renamed into place only once complete; the file
# ROOT/.manywheel-complete marks it. --python311 also builds CPython 3.11.2 inside the root
# as /usr/local/bin/python3.11 (with pip), marked by ROOT/.manywheel-python311-complete.
# A second run with the markers present does nothing. Needs root (debootstrap, chroot).
# The Debian mirror is the one this machine's apt uses ($MWTEST_DEBIAN_MIRROR overrides).
set -euo pipefail

# Bump a format number when what the script puts in the root changes: roots with an older
# marker are rebuilt. tests/oldroot.py reads the same markers and numbers.
readonly ROOT_FORMAT=1
readonly PY311_FORMAT=1
readonly SUITE=bullseye
readonly PY311_SOURCE_SUITE=bookworm
readonly PY311_BUILD_DEPS="gcc make libc6-dev zlib1g-dev libffi-dev libssl-dev libbz2-dev
  liblzma-dev libsqlite3-dev"
readonly CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ROOT=${MWTEST_OLDROOT:-$HOME/.cache/manywheel/bullseye-root}
ROOT=${ROOT%/}
readonly MARKER=$ROOT/.manywheel-complete
readonly PY311_MARKER=$ROOT/.manywheel-python311-complete

export DEBIAN_FRONTEND=noninteractive LC_ALL=C

readonly ME=oldroot
# shellcheck source=tools/debian-root-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-root-lib.sh"

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0"
}

make_base_root() {
    local parent name tmp log mirror start
    parent=$(dirname "$ROOT")
    name=$(basename "$ROOT")
    mkdir -p "$parent"
    # Leftovers of interrupted runs (we hold the lock, so no other run is using them).
    for tmp in "$parent/.$name".tmp.*; do
        [[ -e $tmp ]] && { say "removing leftover $tmp"; remove_tree "$tmp"; }
    done
    # ROOT appears only by renaming a finished tree, so one without a marker is not ours:
    # never delete what $MWTEST_OLDROOT may point at by mistake.
    if [[ -f $MARKER ]]; then
        say "$ROOT is of an older format ($(head -n 1 "$MARKER")): rebuilding it"
        remove_tree "$ROOT"
    elif [[ -d $ROOT ]] && rmdir "$ROOT" 2>/dev/null; then
        :
    elif [[ -e $ROOT ]]; then
        die "$ROOT exists but was not made by this script (no $MARKER):" \
            "remove it, or set MWTEST_OLDROOT to another path"
    fi
    ensure_package debootstrap debootstrap
    mirror=$(debian_mirror)
    tmp=$(mktemp -d "$parent/.$name.tmp.XXXXXX")
    CLEANUP_DIR=$tmp
    log=$ROOT.log
    : >"$log"
    start=$SECONDS
    say "debootstrap $SUITE from $mirror into $tmp (log: $log)"
    if ! run_logged "$log" debootstrap --variant=minbase --include=python3,python3-distutils \
        --keyring="$KEYRING" "$SUITE" "$tmp" "$mirror"; then
        show_log "$log"
        die "debootstrap failed"
    fi
    say "debootstrap done in $((SECONDS - start)) s"
    # apt inside the root (for --python311) needs name resolution.
    cp -L /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
    chroot "$tmp" /usr/bin/env -i PATH="$CHROOT_PATH" apt-get clean
    check_base_root "$tmp"
    printf 'format=%s\nsuite=%s\nmirror=%s\ncreated=%s\n' "$ROOT_FORMAT" "$SUITE" "$mirror" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/.manywheel-complete"
    chmod 755 "$tmp"  # mktemp made it 0700; the root's / must be searchable by all
    mv -T "$tmp" "$ROOT"
    CLEANUP_DIR=""
    say "root ready at $ROOT ($(du -sh --one-file-system "$ROOT" | cut -f1))"
}

check_base_root() {
    local libc py
    libc=$(chroot "$1" /usr/bin/getconf GNU_LIBC_VERSION)
    py=$(chroot "$1" /usr/bin/env -i PATH="$CHROOT_PATH" python3 -c \
        'import sys; print("%d.%d" % sys.version_info[:2])')
    say "root has $libc, python3 $py"
    [[ $libc == "glibc 2.31" ]] || die "expected glibc 2.31 in the root, found '$libc'"
}

# Download the upstream CPython 3.11.2 source (the orig tarball of bookworm's python3.11
# source package) into $1, with a private apt configuration so the host's is untouched.
fetch_python311_source() {
    local dest=$1 work mirror
    work=$dest/apt
    mkdir -p "$work/src"
    mirror=$(debian_mirror)
    private_apt_source "$work" "$PY311_SOURCE_SUITE"
    say "fetching the python3.11 source package from $mirror $PY311_SOURCE_SUITE"
    run_logged "$work/apt.log" apt-get "${APT_OPTS[@]}" update ||
        { show_log "$work/apt.log"; die "apt-get update for deb-src failed"; }
    run_logged "$work/apt.log" sh -c 'cd "$1" && shift && exec "$@"' sh "$work/src" \
        apt-get "${APT_OPTS[@]}" source --download-only python3.11 ||
        { show_log "$work/apt.log"; die "apt-get source python3.11 failed"; }
    local orig
    orig=$(find "$work/src" -maxdepth 1 -name 'python3.11_3.11.2.orig.tar.*' | head -n 1)
    [[ -n $orig ]] || die "no python3.11_3.11.2.orig.tar.* in the source package: $(ls "$work/src")"
    mkdir -p "$dest/Python-3.11.2"
    tar -xf "$orig" -C "$dest/Python-3.11.2" --strip-components=1
}

# "${IN_ROOT[@]}" SCRIPT runs SCRIPT inside the root with a clean environment. Neither
# apt, dpkg nor the CPython build needs /proc, /sys or /dev/pts mounted there.
IN_ROOT=(chroot "$ROOT" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root LC_ALL=C
    DEBIAN_FRONTEND=noninteractive /bin/sh -ec)

make_python311() {
    local build log start
    log=$ROOT.python311.log
    rm -f "$PY311_MARKER"
    build=$ROOT/tmp/mw-python311-build
    remove_tree "$build"
    mkdir -p "$build"
    CLEANUP_DIR=$build
    : >"$log"
    start=$SECONDS
    fetch_python311_source "$build"
    say "source fetched ($((SECONDS - start)) s)"
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    say "installing build dependencies in the root (log: $log)"
    # The lists are dropped afterwards (73 MB); whoever installs more runs apt-get update.
    # shellcheck disable=SC2086  # word-split the package list
    run_logged "$log" "${IN_ROOT[@]}" "apt-get update -q && apt-get install -y -q \
        --no-install-recommends $(echo $PY311_BUILD_DEPS) && apt-get clean \
        && rm -rf /var/lib/apt/lists/*" ||
        { show_log "$log"; die "apt-get install in the root failed"; }
    say "build dependencies installed ($((SECONDS - start)) s)"
    say "building CPython 3.11.2 in the root (make -j$(nproc))"
    # make altinstall runs ensurepip, which installs the bundled pip without network.
    run_logged "$log" "${IN_ROOT[@]}" "cd /tmp/mw-python311-build/Python-3.11.2 \
        && ./configure --prefix=/usr/local && make -j$(nproc) && make altinstall" ||
        { show_log "$log"; die "building CPython 3.11 failed"; }
    say "built and installed ($((SECONDS - start)) s)"
    "${IN_ROOT[@]}" "/usr/local/bin/python3.11 -c 'import ssl, ctypes, zlib, bz2, lzma, sqlite3' \
        && /usr/local/bin/python3.11 -m pip --version" ||
        die "/usr/local/bin/python3.11 in the root is missing modules or pip (see $log)"
    # CPython's own test suite is 117 MB and no use here.
    rm -rf "$ROOT/usr/local/lib/python3.11/test"
    remove_tree "$build"
    CLEANUP_DIR=""
    printf 'format=%s\npython=/usr/local/bin/python3.11\ncreated=%s\n' "$PY311_FORMAT" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$PY311_MARKER"
    say "python3.11 ready in the root in $((SECONDS - start)) s" \
        "($(du -sh --one-file-system "$ROOT" | cut -f1) in all)"
}

main() {
    local want_py311=0
    # Make an interrupt run the EXIT trap, which removes a half-built tree.
    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    while (($#)); do
        case $1 in
            --python311) want_py311=1 ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument '$1' (usage: tools/oldroot.sh [--python311])" ;;
        esac
        shift
    done

    # Fast path: nothing to do, no lock, no root needed.
    if marker_ok "$MARKER" "$ROOT_FORMAT" &&
        { ((want_py311 == 0)) || marker_ok "$PY311_MARKER" "$PY311_FORMAT"; }; then
        say "$ROOT is ready (cached)"
        exit 0
    fi

    ((EUID == 0)) || die "must run as root (debootstrap and chroot need it)"
    mkdir -p "$(dirname "$ROOT")"
    # One run at a time per ROOT; a second waits, then finds the work done.
    exec 9>"$ROOT.lock"
    flock 9

    if marker_ok "$MARKER" "$ROOT_FORMAT"; then
        say "$ROOT is ready (cached)"
    else
        make_base_root
    fi
    if ((want_py311)); then
        if marker_ok "$PY311_MARKER" "$PY311_FORMAT"; then
            say "python3.11 in the root is ready (cached)"
        else
            make_python311
        fi
    fi
}

# Braces: bash parses the whole line before running it, so editing this file while it runs
# cannot make bash read on into changed text.
{ main "$@"; exit; }
