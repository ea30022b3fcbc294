# Shared by the lint scripts tools/check-*.sh (sourced, not run): which tree
# they check and which of its files.

# lint_root NAME [SOURCE_DIR]: enter the tree to check (default: the one the
# sourcing script lives in); NAME prefixes the error.
lint_root()
{
    local root=${2:-"$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)"}
    cd "$root" || { echo "$1: no such directory: $root" >&2; exit 2; }
    export LC_ALL=C
}

# lint_files [PATTERN...]: the files to check, NUL-separated: in a git work
# tree the tracked ones (git ls-files), otherwise every file except .git and
# build folders, named as git names them (no leading ./, which the scripts'
# path rules depend on). PATTERNs are git pathspecs such as 'nodes/*.cc'
# ('*' matches '/' too, as in find -path). No PATTERN: every file.
lint_files()
{
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z -- "$@"
        return
    fi
    local -a match=(-true)
    local p
    [ $# -gt 0 ] && match=()
    for p in "$@"; do
        [ ${#match[@]} -gt 0 ] && match+=(-o)
        match+=(-path "./$p")
    done
    find . \( -name .git -o -name 'build*' \) -prune -o -type f \( "${match[@]}" \) -printf '%P\0'
}
