#!/bin/sh
# Installs everything colo-graph needs to build and test on Debian 12.
# Run as root (CI is root); it is idempotent.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian.sh: run as root (apt-get install)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# resource-agents and libxml2-utils: ocf-tester and the xmllint it checks
# meta-data with (tests/e2e/ocf_agent.sh, the Pacemaker agent tools/ocf/colo-graph).
# ethtool: the e2e benchmark turns a veth's offloads off for its baseline
# (tools/bench/e2e_round.sh).
# libgnutls28-dev: TLS on the links between the hosts (nodes/io/tls_session), the library
# QEMU's tls-creds-x509 uses, so that priorities and certificate checks mean the same on both
# ends; gnutls-bin: certtool, which the TLS tests generate their certificates with.
# libseccomp-dev: the system-call filter of `run`'s sandbox (tools/cli/sandbox.cc), the library
# behind QEMU's -sandbox on. Capabilities are dropped with capset(2) itself: each thread drops its
# own from a signal handler, where libcap's allocating calls are not allowed, so no libcap.
# tshark (tests/nodes/test_packet_trace.cc reads the trace comments with it):
# answer wireshark-common's question (may non-root users capture?) up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get install -y -qq --no-install-recommends \
    build-essential cmake pkg-config \
    libtbb-dev libyaml-cpp-dev libpcap-dev libboost-program-options-dev catch2 nlohmann-json3-dev libsystemd-dev \
    python3 python3-scapy tcpdump tshark graphviz iproute2 iputils-ping procps curl qemu-system-x86 \
    clang-14 libclang-rt-14-dev clang-format-14 help2man systemd dpkg-dev xz-utils \
    resource-agents libxml2-utils ethtool libgnutls28-dev gnutls-bin libseccomp-dev \
    >/dev/null
