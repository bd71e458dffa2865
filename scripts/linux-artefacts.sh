#!/bin/sh
# Build the Linux guest's files from Debian packages (docs/linux-guests.md):
#   kernel -> build/linux/vmlinuz     the /boot/vmlinuz-* of the linux-image-*-amd64
#                                     package that linux-image-amd64 depends on
#   initrd -> build/linux/initrd.img  busybox-static, /init, memfill (gzip'd newc)
# Usage: scripts/linux-artefacts.sh kernel|initrd|all
#
# The .debs are kept in build/linux/debs (LINUX_DEB_CACHE overrides it), so a
# rebuild downloads nothing; `apt-get download` needs only the package lists
# (`apt-get update` runs once when they are missing).  Root or sudo.
set -eu
cd "$(dirname "$0")/.."
what=${1:-all}
OUT=build/linux
CACHE=${LINUX_DEB_CACHE:-$OUT/debs}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
mkdir -p "$OUT" "$CACHE"

# apt-cache answers from the package lists: fetch them once if they are missing.
ensure_lists() {
	apt-cache show "$1" >/dev/null 2>&1 && return 0
	echo "linux-artefacts: apt-get update (no package list has $1)" >&2
	$SUDO apt-get update -qq >&2
	apt-cache show "$1" >/dev/null 2>&1 ||
		{ echo "linux-artefacts: no package $1 in the apt sources" >&2; exit 1; }
}

# The .deb of package $1 in the cache (its candidate version), downloaded if
# missing; prints its path.
fetch() {
	pkg=$1
	ensure_lists "$pkg"
	ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: *//p')
	case "$ver" in ""|"(none)") echo "linux-artefacts: no candidate for $pkg" >&2; exit 1 ;; esac
	# Debian's file names drop the epoch ("1:1.35.0" -> "1.35.0").
	deb="$CACHE/${pkg}_$(echo "$ver" | sed 's/^[0-9]*://')_amd64.deb"
	if [ ! -s "$deb" ]; then
		echo "linux-artefacts: downloading $pkg $ver" >&2
		tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
		# apt's sandbox user cannot write here: it warns and downloads as root.
		(cd "$tmp" && apt-get download -q "$pkg=$ver" 2>&1 | { grep -v "unsandboxed" >&2; true; })
		f=$(find "$tmp" -name '*.deb' | head -n 1)
		[ -n "$f" ] || { echo "linux-artefacts: download of $pkg failed" >&2; rm -rf "$tmp"; exit 1; }
		mv "$f" "$deb"
		rm -rf "$tmp"
	fi
	echo "$deb"
}

# linux-image-amd64 is a metapackage: the kernel is in the linux-image-*-amd64 it depends on.
kernel_package() {
	ensure_lists linux-image-amd64
	apt-cache depends linux-image-amd64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

kernel() {
	pkg=$(kernel_package)
	[ -n "$pkg" ] || { echo "linux-artefacts: linux-image-amd64 names no kernel" >&2; exit 1; }
	deb=$(fetch "$pkg")
	x=$(mktemp -d "$OUT/.x.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*'
	mv "$x"/boot/vmlinuz-* "$OUT/vmlinuz"
	touch "$OUT/vmlinuz"		# the package's mtime would be older than this script
	rm -rf "$x"
	echo "$pkg" > "$OUT/kernel-package"
	echo "built $OUT/vmlinuz from $pkg ($(stat -c %s "$OUT/vmlinuz") bytes)"
}

initrd() {
	deb=$(fetch busybox-static)
	x=$(mktemp -d "$OUT/.x.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" ./bin/busybox
	gcc -static -O2 -Wall -Wextra -Werror -o "$x/memfill" tests/guests/linux/memfill.c
	strip "$x/memfill"
	python3 scripts/mkinitramfs.py -o "$OUT/initrd.img" \
		--busybox "$x/bin/busybox" \
		--file /init=tests/guests/linux/init:755 \
		--file /etc/profile=tests/guests/linux/profile:644 \
		--file /bin/memfill="$x/memfill":755
	rm -rf "$x"
	echo "built $OUT/initrd.img ($(stat -c %s "$OUT/initrd.img") bytes)"
}

case "$what" in
kernel) kernel ;;
initrd) initrd ;;
all) kernel; initrd ;;
*) echo "usage: $0 kernel|initrd|all" >&2; exit 2 ;;
esac
