#!/bin/sh
# Run by tests/replay/run-case.sh with the output folder as $1: TCP checksums and
# per-frame field changes of the rewriter's output pcaps (../rewriter-check.sh).
exec sh "$(dirname "$0")/../rewriter-check.sh" "$(cd "$(dirname "$0")" && pwd)" "$1"
