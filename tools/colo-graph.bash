# bash completion for colo-graph: commands, each command's options, node types
# (inspect), a graph file's variables (--set NAME=), --mode values, and files.
# Everything is read from colo-graph itself (--help, nodes) or from the graph
# file being completed, so it follows the program. Installed by cmake --install
# under share/bash-completion/completions.

_colo_graph_variables() { # the names under a graph file's top-level `variables:`
    [ -r "$1" ] && sed -n '/^variables:/,/^[^ #]/s/^  \([A-Za-z_][A-Za-z0-9_]*\):.*/\1/p' "$1"
}

_colo_graph()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prog=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]:-} file="" i
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$("$prog" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p') --help --version" -- "$cur"))
        return
    fi
    for ((i = 2; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in *.yaml | *.yml) file=${COMP_WORDS[i]} ;; esac
    done
    case $prev in
    --mode) COMPREPLY=($(compgen -W "replay live auto" -- "$cur")); return ;;
    --set)
        compopt -o nospace 2>/dev/null
        COMPREPLY=($(compgen -S = -W "$(_colo_graph_variables "$file")" -- "$cur"))
        return ;;
    --dot-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --out | -o | --user | --threads | --batch) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$prog" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
        return
    fi
    case $cmd in
    inspect) COMPREPLY=($(compgen -W "$("$prog" nodes 2>/dev/null | cut -d' ' -f1)" -- "$cur")) ;;
    compare) COMPREPLY=($(compgen -f -X '!*.@(pcap|pcapng|cap)' -- "$cur") $(compgen -d -- "$cur")) ;;
    run | validate | dot) COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur")) ;;
    esac
}
complete -F _colo_graph colo-graph
