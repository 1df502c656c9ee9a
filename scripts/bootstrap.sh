#!/usr/bin/env bash
# Installs exactly the Debian 12 packages Sluice builds, runs and tests with, and nothing from
# elsewhere. Idempotent: apt-get runs (update once, then install) only when something is missing.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config g++
  # dependencies, all found with pkg-config
  libdpdk-dev libhyperscan-dev liburing-dev libprotobuf-dev protobuf-compiler prometheus-cpp-dev
  libgtest-dev libpcap-dev libssl-dev
  # header-only JSON (records, reports) and command-line parsing (sluicectl); libpsl reads the list
  nlohmann-json3-dev libcli11-dev libpsl-dev
  # sd_notify (Type=notify, the watchdog) and the man pages' source format
  libsystemd-dev scdoc
  # run time data: the public suffix list refuses wildcards like "*.co.uk"
  publicsuffix
  # tests: pcap generation and golden tests (Debian's python, /usr/bin/python3), metrics scrapes
  python3-scapy python3-pytest curl prometheus python3-yaml sqlite3
  # fuzzing: clang's libFuzzer with ASan/UBSan (tests/fuzz, scripts/fuzz.sh)
  clang libclang-rt-14-dev
  # the real-clients capture is checked against tshark; the end-to-end rig (tests/e2e) runs real
  # servers and clients in network namespaces
  tshark nginx-light dnsmasq-base gnutls-bin dnsutils ethtool tcpdump netcat-openbsd openssl traceroute iputils-ping
  # real clients of the end-to-end rig: headless Chromium over QUIC (test_quic.py), git over HTTPS
  chromium git
  # rollout: the package (dpkg-buildpackage with debhelper, lintian, hardening-check from
  # devscripts, man pages checked with groff), Ansible lint and apply, the real-apply test's root
  dpkg-dev debhelper lintian devscripts groff-base ansible ansible-lint debootstrap iproute2
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
