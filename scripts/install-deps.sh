#!/bin/sh
# Installs vkrec's build and test dependencies on Debian 12, only those missing. Idempotent.
# Runs apt-get update once, and only when something must be installed.
set -eu
PKGS="cmake make gcc pkg-config libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers glslang-tools
      libcjson-dev libcmocka-dev zlib1g-dev libopenblas-dev libsdl2-dev libsdl2-ttf-dev libcglm-dev libpng-dev xvfb xauth python3
      libopenmpi-dev openmpi-bin openssh-client $*"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
