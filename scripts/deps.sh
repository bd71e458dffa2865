#!/bin/sh
# Install the Debian packages the build, the emulators and the tests need.
# Idempotent and silent when nothing is missing.
set -eu
PKGS="build-essential gnu-efi nasm qemu-system-x86 ovmf bochs bochsbios vgabios seabios
      mtools dosfstools gdisk xorriso lcov spin python3 clang libclang-rt-14-dev
      acpica-tools valgrind liblz4-dev e2fsprogs gdb"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
