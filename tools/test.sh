#!/bin/sh
# One command on a fresh Debian 12 machine: install, build, run every test
# through CTest. Tests that need root, namespaces or QEMU set themselves up and
# skip with a message when they cannot.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] && tools/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
# --repeat until-pass:2: e2e/colo_pair, real TCP stacks through the pair on a
# shared 2-core machine, failed once in five clean-clone runs (see the issue notes).
(cd build && ctest -j2 --output-on-failure --timeout 600 --repeat until-pass:2)
# Sanitizer builds (ASan+UBSan, TSan) and fuzzing: tools/test-hardening.sh.
tools/test-hardening.sh
