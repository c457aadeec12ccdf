#!/usr/bin/env bash
# Builds release and installs spantapd, spantap, their man pages (section 8, generated from the
# ArgumentParser definitions by swift-argument-parser's generate-manual plugin), the producer's C
# headers (PREFIX/include/spantap: the ring ABI, the re-attaching session, the filter interpreter), the systemd unit
# (ExecStart pointing at the installed spantapd) and etc/spantap.conf as /etc/spantap/spantap.conf
# unless a config is already there.
#
#   scripts/install.sh [--prefix PREFIX] [--destdir DIR]              install (PREFIX /usr/local)
#   scripts/install.sh [--prefix PREFIX] [--destdir DIR] --uninstall  remove what it installed
#
# Every file and directory the install creates is listed in PREFIX/share/spantap/install-manifest;
# --uninstall removes exactly those (a config edited since is kept, and said so).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local destdir="" uninstall=false
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
        --uninstall) uninstall=true; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) echo "install: --prefix must be absolute, not '$prefix'" >&2; exit 2 ;; esac
[ -z "$destdir" ] || destdir=$(realpath -m "$destdir")

manifest_path="$prefix/share/spantap/install-manifest"
manifest="$destdir$manifest_path"

if $uninstall; then
    [ -f "$manifest" ] || { echo "install: nothing to uninstall: no $manifest" >&2; exit 1; }
    mapfile -t lines < "$manifest"
    rm -f "$manifest"
    # Files first, then directories deepest first (reverse order puts a child before its
    # parent), each only if this install created it and it is empty now.
    for line in "${lines[@]}"; do
        read -r kind sum path <<< "$line"
        target="$destdir$path"
        case "$kind" in
            file) rm -f "$target" ;;
            config)
                if [ "$(sha256sum < "$target" 2>/dev/null | cut -d' ' -f1)" = "$sum" ]; then rm -f "$target"
                elif [ -e "$target" ]; then echo "install: keeping $target: edited since it was installed"; fi ;;
        esac
    done
    printf '%s\n' "${lines[@]}" | awk '$1 == "dir" { print $3 }' | sort -r | while read -r path; do
        rmdir "$destdir$path" 2>/dev/null || true
    done
    echo "install: uninstalled from ${destdir:-/}"
    exit 0
fi

echo "install: building release binaries and man pages"
# SWIFTPM_FLAGS: extra SwiftPM options; the install test passes --ignore-lock because the
# `swift test` running it holds .build's lock (the release build it reuses is already done).
read -ra swiftpm <<< "${SWIFTPM_FLAGS:-}"
swift build "${swiftpm[@]}" -c release --product spantapd
swift build "${swiftpm[@]}" -c release --product spantap
bin=$(swift build "${swiftpm[@]}" -c release --show-bin-path)
swift package "${swiftpm[@]}" plugin generate-manual --section 8 --configuration release >/dev/null
manuals=.build/plugins/GenerateManual/outputs

entries=() dirs=()
make_dir() {  # creates $destdir$1 and its missing parents, remembering those it created
    local path=$1 missing=()
    while [ ! -d "$destdir$path" ]; do missing+=("$path"); path=$(dirname "$path"); done
    for path in "${missing[@]}"; do dirs+=("dir - $path"); done
    [ ${#missing[@]} -eq 0 ] || mkdir -p "$destdir$1"
}
put() {  # put MODE SOURCE PATH [kind]
    make_dir "$(dirname "$3")"
    install -m "$1" "$2" "$destdir$3"
    entries+=("${4:-file} $(sha256sum < "$destdir$3" | cut -d' ' -f1) $3")
}

put 0755 "$bin/spantapd" "$prefix/bin/spantapd"
put 0755 "$bin/spantap" "$prefix/bin/spantap"
put 0644 "$manuals/spantapd/spantapd.8" "$prefix/share/man/man8/spantapd.8"
put 0644 "$manuals/spantap/spantap.8" "$prefix/share/man/man8/spantap.8"
# What a forwarder in another process builds against: cc -pthread -I PREFIX/include/spantap
for header in spantap_ring.h spantap_session.h spantap_filter.h; do
    put 0644 "Sources/CSpanTapRing/include/$header" "$prefix/include/spantap/$header"
done
unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed "s#^ExecStart=/usr/local/bin/spantapd #ExecStart=$prefix/bin/spantapd #" etc/spantapd.service > "$unit"
put 0644 "$unit" /etc/systemd/system/spantapd.service
if [ -e "$destdir/etc/spantap/spantap.conf" ]; then
    echo "install: keeping the existing $destdir/etc/spantap/spantap.conf"
else
    put 0644 etc/spantap.conf /etc/spantap/spantap.conf config
fi

make_dir "$(dirname "$manifest_path")"
# A re-install adds to what an earlier one recorded, so --uninstall still removes everything.
{ [ ! -f "$manifest" ] || cat "$manifest"; printf '%s\n' "${entries[@]}" "${dirs[@]}"; } | sort -u -k3,3 > "$manifest.new"
mv "$manifest.new" "$manifest"
chmod 0644 "$manifest"

echo "install: installed into ${destdir:-/} (prefix $prefix); manifest $manifest"
[ -n "$destdir" ] || echo "install: next: systemctl daemon-reload && systemctl enable --now spantapd"
