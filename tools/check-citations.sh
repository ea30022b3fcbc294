#!/usr/bin/env bash
# Fails, listing file:line, when a file of the source tree cites a document
# that is not in this repository (issue #14). Cite QEMU by file and function
# (`net/colo-compare.c colo_compare_tcp()`), a section of docs/*.md, or a
# figure in docs/performance.md instead.
#
# Usage: tools/check-citations.sh [SOURCE_DIR]   (default: this script's tree)
# In a git work tree it checks the tracked files (git ls-files); otherwise
# every regular file under SOURCE_DIR except .git and build folders.
set -u
source "$(dirname "$0")/lint-lib.bash"
lint_root check-citations "${1:-}"

# Built from pieces so that this script does not match itself.
section=$'\xc2\xa7'
pattern="reference ${section}|field[- ]notes|colo-proxy-""reference[.]md"

# -s: a tracked file another change has just deleted is not an error;
# -I: binary files (pcaps, images) are skipped.
hits=$(lint_files | xargs -0 -r grep -s -n -I -i -E -H -- "$pattern")
if [ -n "$hits" ]; then
    printf '%s\n' "$hits"
    echo "check-citations: $(printf '%s\n' "$hits" | wc -l) line(s) cite documents outside the" \
         "repository; cite the QEMU file and function or a docs/*.md section instead" >&2
    exit 1
fi
echo "check-citations: no citations of documents outside the repository"
