#!/usr/bin/env bash
# Fails, listing file:line, when a Catch2 TEST_CASE or SECTION name contains
# ';'. CTest (catch_discover_tests) splits test names on ';' and silently loses
# such a test; a section's name shows in the test's report and filters.
#
# Usage: tools/check-test-names.sh [SOURCE_DIR]   (default: this script's tree)
# In a git work tree it checks the tracked files under tests/ (git ls-files);
# otherwise every .cc/.hh under SOURCE_DIR/tests.
set -u
source "$(dirname "$0")/lint-lib.bash"
lint_root check-test-names "${1:-}"

list_sources() { lint_files 'tests/*.cc' 'tests/*.hh'; }

# The first string literal after TEST_CASE( / SECTION( (TEST_CASE_METHOD's
# after the fixture), escaped quotes included.
name='"(?:[^"\\]|\\.)*"'
pattern="\\b(?:TEST_CASE|SECTION|SCENARIO)\\s*\\(\\s*$name|\\bTEST_CASE_METHOD\\s*\\([^,]*,\\s*$name"
hits=$(list_sources | xargs -0 -r grep -s -n -H -o -P -- "$pattern" | grep -E '^[^:]+:[0-9]+:.*;')
total=$(list_sources | xargs -0 -r grep -s -h -o -P -- "$pattern" | wc -l)
if [ "$total" -eq 0 ]; then
    echo "check-test-names: found no TEST_CASE or SECTION at all; is this the source tree?" >&2
    exit 2
fi
if [ -n "$hits" ]; then
    printf '%s\n' "$hits"
    echo "check-test-names: $(printf '%s\n' "$hits" | wc -l) test or section name(s) contain ';'," \
         "which CTest splits test names on" >&2
    exit 1
fi
echo "check-test-names: $total TEST_CASE and SECTION names, none contains ';'"
