#!/bin/sh
# One command on a fresh Debian 12 machine: install, build, run every test
# through CTest. Tests that need root, namespaces or QEMU set themselves up and
# skip with a message when they cannot.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] && tools/setup-debian.sh
# BUILD_TESTING=ON explicitly: tools/demo.sh configures the same build folder
# with it OFF, and the cached OFF would otherwise leave CTest with no tests.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build build -j"$(nproc)"
# --no-tests=error: an empty test list is a failure, never a pass.
(cd build && ctest -j2 --output-on-failure --timeout 600 --no-tests=error)
# Sanitizer builds (ASan+UBSan, TSan) and fuzzing: tools/test-hardening.sh.
tools/test-hardening.sh
