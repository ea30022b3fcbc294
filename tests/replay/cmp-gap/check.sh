#!/bin/sh
# run-case.sh runs this with OUT as $1: the issue-13 requirements in expect.json (tools/pcapgen/README.md).
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/../../../tools/pcapgen/generate.py" check "$here" "$1"
