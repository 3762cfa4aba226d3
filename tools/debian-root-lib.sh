# shellcheck shell=bash
# Sourced, not run, by tools/oldroot.sh and tools/crossroot.sh: what both need to make a
# Debian root with debootstrap (the host's mirror and keyring, completion markers, removing
# half-made trees, running a long step so that an interrupt stops it). The sourcing script
# sets ME, its name in messages, before sourcing.

readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf '%s: %s\n' "$ME" "$*"; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

# marker_ok FILE FORMAT: FILE exists and its first line is "format=FORMAT".
marker_ok() {
    [[ -f $1 ]] && [[ $(head -n 1 "$1" 2>/dev/null) == "format=$2" ]]
}

# Print the first URI of an apt source for this host's own suite (not -security, not a
# third-party repository), from one-line *.list and deb822 *.sources files.
host_debian_mirror() {
    local codename
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    [[ -n $codename ]] || return 1
    local files=()
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    local f
    for f in /etc/apt/sources.list.d/*.list; do [[ -f $f ]] && files+=("$f"); done
    for f in "${files[@]}"; do
        # deb [options] URI SUITE COMPONENTS...
        awk -v want="$codename" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == want) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        # Stanzas are separated by blank lines; fields may be in any order.
        awk -v want="$codename" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uris != "") {
                    split(uris, u, " "); print u[1]; found = 1
                }
                types = ""; suites = ""; uris = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); if (found) exit; next }
            tolower($1) == "types:"  { $1 = ""; types = $0 }
            tolower($1) == "suites:" { $1 = ""; suites = $0 }
            tolower($1) == "uris:"   { $1 = ""; uris = $0 }
            END { if (!found) flush() }' "$f"
    done
}

debian_mirror() {
    if [[ -n ${MWTEST_DEBIAN_MIRROR:-} ]]; then
        printf '%s\n' "$MWTEST_DEBIAN_MIRROR"
        return
    fi
    local m
    m=$(host_debian_mirror | head -n 1)
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# ensure_package PACKAGE PROGRAM: install PACKAGE with apt-get when PROGRAM is not found.
ensure_package() {
    if command -v "$2" >/dev/null || [[ -x /usr/sbin/$2 ]]; then
        return
    fi
    say "$2 is missing: installing $1 with apt-get"
    apt-get update -q
    apt-get install -y -q "$1"
}

# Unmount everything mounted at or below $1 (deepest first); ignore what is not mounted.
unmount_below() {
    local dir mnts m
    dir=$(realpath -m "$1")
    mnts=$(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
        sort -r)
    for m in $mnts; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

remove_tree() {
    [[ -e $1 ]] || return 0
    unmount_below "$1"
    rm -rf --one-file-system "$1"
}

# The long-running child (in its own process group) and the half-made tree to remove if
# the script stops early; on_exit, the EXIT trap, handles both.
CHILD=""
CLEANUP_DIR=""

on_exit() {
    if [[ -n $CHILD ]]; then
        kill -TERM -- "-$CHILD" 2>/dev/null || true
        # Let debootstrap and dpkg stop (and unmount what they mounted) before removing.
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 -- "-$CHILD" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$CHILD" 2>/dev/null || true
    fi
    if [[ -n $CLEANUP_DIR ]]; then
        remove_tree "$CLEANUP_DIR"
    fi
}

# run_logged LOG CMD...: run CMD with its output appended to LOG. Bash runs a signal trap
# only once a foreground child has finished, so CMD runs in the background in its own
# process group, which on_exit can stop as a whole.
run_logged() {
    local log=$1 rc=0
    shift
    setsid --wait "$@" >>"$log" 2>&1 </dev/null &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# Tail of a log, for failures.
show_log() {
    printf '%s: last lines of %s:\n' "$ME" "$1" >&2
    tail -n 40 "$1" >&2 || true
}

# arch_table_field ARCH FIELD ARCHES...: FIELD (debian, gnu, multiarch, qemu, ...) of ARCH in
# manywheel's one architecture table (src/manywheel/arches.py); fails unless ARCH is one of ARCHES.
arch_table_field() {
    PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src" python3 -S -c '
import sys
from manywheel.arches import BY_NAME
arch, field, known = sys.argv[1], sys.argv[2], sys.argv[3:]
if arch not in known:
    sys.exit(1)
print(getattr(BY_NAME[arch], field))' "$@"
}

# private_apt_source WORK SUITE: an apt configuration of its own in WORK whose one line is
# SUITE's deb-src of the mirror (debian_mirror), so that `apt-get "${APT_OPTS[@]}" update` and
# `source` leave the host's apt state alone; sets APT_OPTS.
APT_OPTS=()
private_apt_source() {
    local work=$1 suite=$2
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/prefs"
    printf 'deb-src [signed-by=%s] %s %s main\n' "$KEYRING" "$(debian_mirror)" "$suite" >"$work/sources.list"
    APT_OPTS=(
        -o "Dir::Etc::SourceList=$work/sources.list"
        -o "Dir::Etc::SourceParts=$work/parts"
        -o "Dir::Etc::PreferencesParts=$work/prefs"
        -o "Dir::State::Lists=$work/lists"
        -o "Dir::Cache=$work/cache"
        -o "APT::Sandbox::User=root"
        -q
    )
}
