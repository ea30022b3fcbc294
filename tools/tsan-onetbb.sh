#!/bin/sh
# Builds oneTBB with ThreadSanitizer: tools/tsan-onetbb.sh DIR
# prints the folder holding the instrumented libtbb.so.12.
#
# Why: Debian's libtbb is not instrumented, so TSan never sees the
# synchronisation inside it (a task spawned on one thread and run on another)
# and reports ~80 races in every flow-graph run, most with our frames on top.
# Suppressing them would hide real races in node code; running the same
# tests against an instrumented libtbb.so.12 gives none. Same source package
# and version as the installed libtbb-dev, so the headers we compiled against
# match; fetched with apt-get from a private deb-src list (the system's apt
# configuration is left alone) and cached in DIR.
set -eu
dir=$(mkdir -p "$1" && cd "$1" && pwd)
lib=$dir/lib
if [ -e "$lib/libtbb.so.12" ]; then echo "$lib"; exit 0; fi

version=$(dpkg-query -W -f='${source:Version}' libtbb-dev)
apt_dir=$dir/apt
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
# The machine's own Debian sources, as deb-src.
[ -f /etc/apt/sources.list ] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$apt_dir/sources.list"
touch "$apt_dir/sources.list"
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/^Types: deb$/Types: deb-src/' -e 's/^deb /deb-src /' "$f" >"$apt_dir/parts/$(basename "$f")"
done
apt_get() {
    apt-get -q -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts="$apt_dir/parts" \
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" "$@"
}
apt_get update >"$dir/apt-update.log" 2>&1 || true # an unrelated repository without sources is fine
src=$dir/src
rm -rf "$src" && mkdir -p "$src"
if ! (cd "$src" && { apt_get source "onetbb=$version" || apt_get source onetbb; } >"$dir/apt-source.log" 2>&1); then
    echo "tsan-onetbb.sh: cannot fetch the onetbb source package (see $dir/apt-*.log)" >&2
    exit 1
fi
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'onetbb-*' | head -n 1)

cmake -S "$tree" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTBB_SANITIZE=thread \
    -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF -DTBBMALLOC_BUILD=OFF -DTBBMALLOC_PROXY_BUILD=OFF \
    >"$dir/cmake.log" 2>&1 || { cat "$dir/cmake.log" >&2; exit 1; }
cmake --build "$dir/build" -j"$(nproc)" --target tbb >"$dir/build.log" 2>&1 || { tail -n 50 "$dir/build.log" >&2; exit 1; }
built=$(find "$dir/build" -name 'libtbb.so.12*' -type f | head -n 1)
mkdir -p "$lib"
cp "$built" "$lib/libtbb.so.12"
echo "$lib"
