# bash completion for colo-graph: commands, each command's options, node types
# (inspect), a graph file's variables (--set NAME=), --mode and --sandbox values, files, and
# for `ctl PATH` its commands and the running graph's node names (--node).
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
    --sandbox) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
    --set)
        compopt -o nospace 2>/dev/null
        COMPREPLY=($(compgen -S = -W "$(_colo_graph_variables "$file")" -- "$cur"))
        return ;;
    --dot-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --control) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --node) # the running graph's nodes, asked of its control socket
        [ "$cmd" = ctl ] && COMPREPLY=($(compgen -W "$("$prog" ctl "${COMP_WORDS[2]}" stats 2>/dev/null |
            sed -n 's/^      "name": "\(.*\)",$/\1/p')" -- "$cur"))
        return ;;
    --out | -o | --user | --threads | --batch | --metrics | --filter | --count | --timeout) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$prog" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
        return
    fi
    case $cmd in
    inspect) COMPREPLY=($(compgen -W "$("$prog" nodes 2>/dev/null | cut -d' ' -f1)" -- "$cur")) ;;
    compare) COMPREPLY=($(compgen -f -X '!*.@(pcap|pcapng|cap)' -- "$cur") $(compgen -d -- "$cur")) ;;
    ctl)
        if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -f -- "$cur"))
        elif [ "$COMP_CWORD" -eq 3 ]; then
            COMPREPLY=($(compgen -W "$("$prog" ctl --help 2>/dev/null | sed -n 's/^  \([a-z][a-z]*\).*/\1/p')" -- "$cur"))
        elif [ "${COMP_WORDS[3]}" = bypass ] && [ "$COMP_CWORD" -eq 4 ]; then
            COMPREPLY=($(compgen -W "add del list" -- "$cur"))
        fi ;;
    run | validate | dot) COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur")) ;;
    esac
}
complete -F _colo_graph colo-graph
