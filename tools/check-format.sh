#!/usr/bin/env bash
# Fails, listing the files, when a C++ source of the tree is not formatted as
# .clang-format says (clang-format-14, Debian 12's). `tools/check-format.sh
# --fix` formats them in place.
#
# Usage: tools/check-format.sh [--fix] [SOURCE_DIR]   (default: this script's tree)
# In a git work tree it checks the tracked files (git ls-files); otherwise
# every .cc/.hh under SOURCE_DIR except build folders.
set -u
fix=0
[ "${1:-}" = --fix ] && { fix=1; shift; }
source "$(dirname "$0")/lint-lib.bash"
lint_root check-format "${1:-}"
formatter=$(command -v clang-format-14) ||
    { echo "check-format: clang-format-14 is not installed (apt-get install clang-format-14)" >&2; exit 2; }

list_sources() { lint_files '*.cc' '*.hh'; }

if [ $fix = 1 ]; then
    list_sources | xargs -0 -r "$formatter" -i
    exit 0
fi
bad=()
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue   # tracked, but deleted by a change not yet committed
    "$formatter" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(list_sources)
if [ ${#bad[@]} -gt 0 ]; then
    printf '%s\n' "${bad[@]}"
    echo "check-format: ${#bad[@]} file(s) differ from .clang-format; tools/check-format.sh --fix formats them" >&2
    exit 1
fi
echo "check-format: every C++ source follows .clang-format"
