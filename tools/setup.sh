#!/usr/bin/env bash
# Installs what clgan needs to build, test and train, from Debian's packages.
# Idempotent: packages already present are left alone. Run as root (or with sudo).
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config
    ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
    mesa-opencl-icd
    libclblast-dev libyaml-dev check libcjson-dev zlib1g-dev libpng-dev liblapacke-dev
    libopenmpi-dev openmpi-bin
    dataset-fashion-mnist
    python3 python3-numpy
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi

SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
