#!/usr/bin/env bash
# Installs the Debian 12 packages topo needs to build, test, benchmark and fuzz, when any is
# missing. Nothing is downloaded from anywhere but Debian's package archive.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libsodium-dev libsqlite3-dev sqlite3
  libcli11-dev nlohmann-json3-dev
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev libasio-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev libfuzzer-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
