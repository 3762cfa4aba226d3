#!/usr/bin/env bash
# Make (or reuse) Debian bullseye roots (glibc 2.31, python3.9) of the architectures manywheel
# cross-builds for, in which tests run the wheels under qemu-user emulation.
#
#   tools/crossroot.sh [--jobs N] [--suite SUITE] ARCH [ARCH...]
#
# ARCH is a manylinux architecture (aarch64 armv7l ppc64le s390x i686, and x86_64 with --suite)
# or `all`. Each root is DIR/ARCH, DIR being $MWTEST_CROSSROOTS, else
# ~/.cache/manywheel/cross-roots, and holds minbase, python3, libstdc++6, libgcc-s1 and libgomp1.
# --suite bookworm|trixie|bullseye makes that suite's roots instead, as DIR/ARCH-SUITE, with its
# Python (bookworm 3.11, trixie 3.13): `manywheel wheels` tests each wheel in the oldest root of
# its architecture that has its Python. An x86_64 root runs chrooted, without an emulator.
# Nothing of the root's architecture runs while it is installed: debootstrap --foreign downloads
# the packages and dpkg-deb -x unpacks them all (no maintainer scripts, hence no second stage;
# i386 goes the same way). Then the root's ldconfig and python run chrooted under
# qemu-ARCH-static to do what the maintainer scripts would have (ld.so.cache, byte-compiled
# stdlib) and to check the root. Each root is built in a temporary directory next to it and
# renamed into place once complete; DIR/ARCH/.manywheel-complete marks it (and says its suite,
# glibc and python); a second run does nothing. N roots are made at once (default 5: the work is
# mostly waiting on the mirror). Needs root (debootstrap, chroot) and qemu-user-static.
#
# Mirrors: bullseye comes from the mirror this machine's apt uses ($MWTEST_DEBIAN_MIRROR
# overrides) where it still has the architecture. Since bullseye became LTS, deb.debian.org
# has only amd64 arm64 armhf i386 for it; ppc64el and s390x are then taken from
# $MWTEST_DEBIAN_ARCHIVE_MIRROR (default http://archive.debian.org/debian), and where that
# cannot be reached either, the root is bookworm (glibc 2.36, python3.11) instead, said
# loudly and written in its marker. tests/crossroot.py runs code in the roots.
set -euo pipefail

# Bump when what the script puts in a root changes: roots with an older marker are rebuilt.
# tests/crossroot.py reads the same marker and number.
readonly ROOT_FORMAT=1
readonly SUITE=bullseye
readonly FALLBACK_SUITE=bookworm
declare -Ar SUITE_GLIBC=([bullseye]=2.31 [bookworm]=2.36 [trixie]=2.41)
declare -Ar SUITE_PYTHON=([bullseye]=/usr/bin/python3.9 [bookworm]=/usr/bin/python3.11 [trixie]=/usr/bin/python3.13)
readonly INCLUDE=python3,libstdc++6,libgcc-s1,libgomp1
readonly ALL_ARCHES="aarch64 armv7l ppc64le s390x i686"
# The suite --suite asked for (then no fallback, and roots are named ARCH-SUITE), else empty.
ASKED_SUITE=""
readonly CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Where the emulator is copied inside a root while it is being made (removed afterwards).
readonly QEMU_IN_ROOT=/.manywheel-qemu
# What the check imports: the stdlib parts that need the root's shared libraries.
readonly CHECK_PY='import ctypes, json, unittest, sqlite3, ssl, zlib, bz2, lzma, os, platform
print(platform.machine(), os.confstr("CS_GNU_LIBC_VERSION"), platform.python_version())'

DIR=${MWTEST_CROSSROOTS:-$HOME/.cache/manywheel/cross-roots}
DIR=${DIR%/}
ARCHIVE_MIRROR=${MWTEST_DEBIAN_ARCHIVE_MIRROR:-http://archive.debian.org/debian}

export DEBIAN_FRONTEND=noninteractive LC_ALL=C

ME=crossroot
# shellcheck source=tools/debian-root-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-root-lib.sh"

usage() {
    sed -n '2,27s/^# \{0,1\}//p' "$0"
}

# arch_field ARCH FIELD: FIELD (debian, qemu) of ARCH, one of ALL_ARCHES or x86_64.
# shellcheck disable=SC2086  # one argument per architecture
arch_field() { arch_table_field "$1" "$2" $ALL_ARCHES x86_64; }

# debian_arch ARCH, qemu_for ARCH: Debian's name for a manylinux architecture, and its emulator.
debian_arch() { arch_field "$1" debian; }

# manylinux_hint NAME: " (Debian's name for ARCH)" when NAME is Debian's name for one.
manylinux_hint() {
    local arch
    for arch in $ALL_ARCHES x86_64; do
        [[ $(debian_arch "$arch") == "$1" ]] && printf " (Debian's name for %s)" "$arch"
    done
    return 0
}

qemu_for() { arch_field "$1" qemu; }

# release_arches MIRROR SUITE: the architectures in SUITE's Release file on MIRROR; nothing
# when the mirror cannot be reached.
release_arches() {
    wget -q -T 20 -t 2 -O- "$1/dists/$2/Release" 2>/dev/null |
        awk '$1 == "Architectures:" { $1 = ""; print; exit }' || true
}

# choose_sources ARCH...: set SOURCE[ARCH] to "SUITE MIRROR", the first of bullseye on the
# main mirror, bullseye on the archive mirror, bookworm on the main mirror that has ARCH.
declare -A SOURCE=()
choose_sources() {
    local main arch deb have_main have_archive="" have_fallback=""
    main=$(debian_mirror)
    if [[ -n $ASKED_SUITE ]]; then
        have_main=" $(release_arches "$main" "$ASKED_SUITE") "
        [[ -n ${have_main// /} ]] || die "cannot read $main/dists/$ASKED_SUITE/Release: is the mirror" \
            "reachable? (MWTEST_DEBIAN_MIRROR overrides it)"
        for arch in "$@"; do
            deb=$(debian_arch "$arch")
            [[ $have_main == *" $deb "* ]] || die "$arch: $main has no $ASKED_SUITE $deb"
            SOURCE[$arch]="$ASKED_SUITE $main"
        done
        return
    fi
    have_main=" $(release_arches "$main" "$SUITE") "
    [[ -n ${have_main// /} ]] || die "cannot read $main/dists/$SUITE/Release: is the mirror" \
        "reachable? (MWTEST_DEBIAN_MIRROR overrides it)"
    for arch in "$@"; do
        deb=$(debian_arch "$arch")
        if [[ $have_main == *" $deb "* ]]; then
            SOURCE[$arch]="$SUITE $main"
            continue
        fi
        [[ -n $have_archive ]] || have_archive=" $(release_arches "$ARCHIVE_MIRROR" "$SUITE") "
        if [[ $have_archive == *" $deb "* ]]; then
            SOURCE[$arch]="$SUITE $ARCHIVE_MIRROR"
            continue
        fi
        [[ -n $have_fallback ]] || have_fallback=" $(release_arches "$main" "$FALLBACK_SUITE") "
        [[ $have_fallback == *" $deb "* ]] ||
            die "$arch: no $SUITE $deb on $main or $ARCHIVE_MIRROR, nor $FALLBACK_SUITE $deb on $main"
        say "$arch: WARNING: no $SUITE $deb on $main or $ARCHIVE_MIRROR: making a" \
            "$FALLBACK_SUITE root instead (glibc ${SUITE_GLIBC[$FALLBACK_SUITE]}," \
            "${SUITE_PYTHON[$FALLBACK_SUITE]##*/}); MWTEST_DEBIAN_ARCHIVE_MIRROR names another archive"
        SOURCE[$arch]="$FALLBACK_SUITE $main"
    done
}

# step NAME CMD...: one step of making a root, logged and timed; a failure names it. CMD
# is a program or one of the functions below, which runs in a bash of its own (given their
# text) so that run_logged can stop it as a whole.
STEP_TIMES=""
step() {
    local name=$1 start=$SECONDS script
    shift
    script="set -euo pipefail; $(declare -p ME CHROOT_PATH QEMU_IN_ROOT CHECK_PY)
        $(declare -f say die in_root unpack_packages finish_root check_root); \"\$@\""
    if ! run_logged "$LOG" bash -c "$script" step "$@"; then
        show_log "$LOG"
        die "$name failed (log: $LOG)"
    fi
    STEP_TIMES+="${STEP_TIMES:+, }$name $((SECONDS - start)) s"
}

# in_root TREE CMD...: run the root's CMD chrooted into TREE under its emulator, with a clean
# environment. Chrooted, the root's programs see none of the host's files.
in_root() {
    local tree=$1
    shift
    env -i PATH="$CHROOT_PATH" HOME=/root LC_ALL=C.UTF-8 chroot "$tree" "$QEMU_IN_ROOT" "$@"
}

unpack_packages() {
    local tree=$1 deb link target
    for deb in "$tree"/var/cache/apt/archives/*.deb; do
        dpkg-deb -x "$deb" "$tree"
    done
    # qemu -L resolves the target of an absolute symlink on the host, not in the root
    # (bookworm's /lib64/ld64.so.2 on ppc64el, sitecustomize.py, ...): make them relative.
    # Those into /proc are the kernel's and stay.
    while IFS= read -r -d '' link; do
        target=$(readlink "$link")
        [[ $target == /proc/* ]] && continue
        ln -sfn "$(realpath -m -s --relative-to="$(dirname "$link")" "$tree$target")" "$link"
    done < <(find "$tree" -xdev -type l -lname '/*' -print0)
    # debootstrap's own files, the downloads and apt's package lists (apt cannot run in the
    # root anyway), and the documentation and translations that slim images leave out.
    rm -rf "$tree/debootstrap" "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/* \
        "$tree"/usr/share/{doc,man,info,locale}
}

# finish_root TREE QEMU PYTHON: what the maintainer scripts would have done, as far as
# running programs from the root needs: accounts (base-passwd), the dynamic linker's cache
# (libc-bin), byte-compiled modules (python3.X), so that tests write nothing into the root.
finish_root() {
    local tree=$1 qemu=$2 python=$3 db
    for db in passwd group; do
        [[ -e $tree/etc/$db ]] || cp "$tree/usr/share/base-passwd/$db.master" "$tree/etc/$db"
    done
    if [[ $qemu == native ]]; then
        printf '#!/bin/sh\nexec "$@"\n' >"$tree$QEMU_IN_ROOT"
        chmod 755 "$tree$QEMU_IN_ROOT"
    else
        cp "$(command -v "$qemu")" "$tree$QEMU_IN_ROOT"
    fi
    in_root "$tree" /sbin/ldconfig
    in_root "$tree" "$python" -m compileall -q "/usr/lib/${python##*/}" >/dev/null
}

# check_root TREE PYTHON GLIBC: PYTHON runs and imports the stdlib; glibc is GLIBC. Writes
# what it found to TREE/.manywheel-check.
check_root() {
    local out
    out=$(in_root "$1" "$2" -c "$CHECK_PY") ||
        die "$2 fails to start or to import the stdlib: $out"
    printf '%s\n' "$out" >"$1/.manywheel-check"
    [[ $out == *"glibc $3 "* ]] || die "expected glibc $3 in the root, found '$out'"
}

# make_root ARCH: run in a subshell of its own (one per architecture, maybe several at once).
make_root() {
    local arch=$1 root deb qemu suite mirror python tmp start
    ME="crossroot: $arch"
    trap on_exit EXIT
    trap 'exit 143' TERM
    root=$DIR/$(root_name "$arch")
    deb=$(debian_arch "$arch")
    qemu=$(qemu_for "$arch")
    [[ $arch != x86_64 ]] || qemu=native
    read -r suite mirror <<<"${SOURCE[$arch]}"
    python=${SUITE_PYTHON[$suite]}
    # One run at a time per root; a second waits, then finds the work done.
    exec 9>"$root.lock"
    flock 9
    if marker_ok "$root/.manywheel-complete" "$ROOT_FORMAT"; then
        say "$root is ready (cached)"
        return
    fi
    remove_leftovers "$root"
    tmp=$(mktemp -d "$DIR/.$(root_name "$arch").tmp.XXXXXX")
    CLEANUP_DIR=$tmp
    LOG=$root.log
    : >"$LOG"
    start=$SECONDS
    say "making the $suite $deb root from $mirror (log: $LOG)"
    step "debootstrap --foreign (download)" debootstrap --arch="$deb" --foreign --variant=minbase \
        --include="$INCLUDE" --keyring="$KEYRING" "$suite" "$tmp" "$mirror"
    step "unpack (dpkg-deb -x)" unpack_packages "$tmp"
    step "ldconfig and compileall under $qemu" finish_root "$tmp" "$qemu" "$python"
    step "check under $qemu" check_root "$tmp" "$python" "${SUITE_GLIBC[$suite]}"
    rm -f "$tmp$QEMU_IN_ROOT"
    printf 'format=%s\narch=%s\ndebian_arch=%s\nsuite=%s\nglibc=%s\npython=%s\nmirror=%s\ncreated=%s\n' \
        "$ROOT_FORMAT" "$arch" "$deb" "$suite" "${SUITE_GLIBC[$suite]}" "$python" "$mirror" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/.manywheel-complete"
    chmod 755 "$tmp"  # mktemp made it 0700; the root's / must be searchable by all
    mv -T "$tmp" "$root"
    CLEANUP_DIR=""
    say "ready in $((SECONDS - start)) s ($STEP_TIMES): $(cat "$root/.manywheel-check")," \
        "$(du -sh --one-file-system "$root" | cut -f1)"
}

# root_name ARCH: the root's directory name under DIR: ARCH, or ARCH-SUITE with --suite.
root_name() { printf '%s\n' "$1${ASKED_SUITE:+-$ASKED_SUITE}"; }

# remove_leftovers ROOT: interrupted runs' temporary trees, and ROOT itself when its marker
# is of an older format. ROOT appears only by renaming a finished tree, so one without a
# marker is not ours: never delete what $MWTEST_CROSSROOTS may point at by mistake.
remove_leftovers() {
    local root=$1 name tmp
    name=$(basename "$root")
    for tmp in "$DIR/.$name".tmp.*; do
        [[ -e $tmp ]] && { say "removing leftover $tmp"; remove_tree "$tmp"; }
    done
    if [[ -f $root/.manywheel-complete ]]; then
        say "$root is of an older format ($(head -n 1 "$root/.manywheel-complete")): rebuilding it"
        remove_tree "$root"
    elif [[ -d $root ]] && rmdir "$root" 2>/dev/null; then
        :
    elif [[ -e $root ]]; then
        die "$root exists but was not made by this script (no .manywheel-complete):" \
            "remove it, or set MWTEST_CROSSROOTS to another directory"
    fi
}

# Worker subshells still running, by pid; stop_workers ends them (each cleans up after itself).
declare -A WORKERS=()
stop_workers() {
    local pid
    for pid in "${!WORKERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

# reap_worker FAILED_VAR: wait for one worker to end; add its architecture to FAILED_VAR
# (an array's name) when it failed.
reap_worker() {
    local -n failed_=$1
    local pid rc=0
    wait -n -p pid "${!WORKERS[@]}" || rc=$?
    ((rc == 0)) || failed_+=("${WORKERS[$pid]}")
    unset "WORKERS[$pid]"
}

# make_roots JOBS ARCH...: make_root for each, JOBS at a time; fails naming the failed ones.
make_roots() {
    local jobs=$1 arch failed=() start=$SECONDS
    shift
    for arch in "$@"; do
        while ((${#WORKERS[@]} >= jobs)); do reap_worker failed; done
        make_root "$arch" &
        WORKERS[$!]=$arch
    done
    while ((${#WORKERS[@]})); do reap_worker failed; done
    ((${#failed[@]} == 0)) || die "no root made for ${failed[*]} (see the messages above)"
    say "$# root(s) made in $DIR in $((SECONDS - start)) s"
}

main() {
    local jobs=5 arches=() todo=() arch a
    while (($#)); do
        case $1 in
            --jobs) (($# > 1)) && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a number"
                jobs=$2; shift ;;
            --suite) (($# > 1)) && [[ -n ${SUITE_GLIBC[${2:-none}]:-} ]] ||
                die "--suite needs one of ${!SUITE_GLIBC[*]}"
                ASKED_SUITE=$2; shift ;;
            -h | --help) usage; exit 0 ;;
            all) read -ra a <<<"$ALL_ARCHES"; arches+=("${a[@]}") ;;
            *) debian_arch "$1" >/dev/null ||
                die "unknown architecture '$1'$(manylinux_hint "$1"): one of $ALL_ARCHES, x86_64, all"
                arches+=("$1") ;;
        esac
        shift
    done
    ((${#arches[@]})) || die "no architecture given (usage: tools/crossroot.sh [--jobs N] [--suite SUITE] ARCH... | all)"
    [[ -n $ASKED_SUITE || " ${arches[*]} " != *" x86_64 "* ]] ||
        die "x86_64's bullseye root is tools/oldroot.sh's; crossroot.sh makes x86_64 roots of another suite (--suite)"
    read -ra arches <<<"$(printf '%s\n' "${arches[@]}" | awk '!seen[$0]++' | tr '\n' ' ')"  # each once
    for arch in "${arches[@]}"; do
        marker_ok "$DIR/$(root_name "$arch")/.manywheel-complete" "$ROOT_FORMAT" || todo+=("$arch")
    done
    # Fast path: nothing to do, no lock, no root needed.
    if ((${#todo[@]} == 0)); then
        say "roots for ${arches[*]} are ready in $DIR (cached)"
        exit 0
    fi

    ((EUID == 0)) || die "must run as root (debootstrap and chroot need it)"
    ensure_package debootstrap debootstrap
    for arch in "${todo[@]}"; do
        [[ $arch == x86_64 ]] || ensure_package qemu-user-static "$(qemu_for "$arch")"
    done
    choose_sources "${todo[@]}"
    mkdir -p "$DIR"
    trap stop_workers EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    make_roots "$jobs" "${todo[@]}"
}

# Braces: bash parses the whole line before running it, so editing this file while it runs
# cannot make bash read on into changed text.
{ main "$@"; exit; }
