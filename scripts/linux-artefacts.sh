#!/bin/sh
# Build the Linux guest's files from Debian packages (docs/linux-guests.md):
#   kernel -> build/linux/vmlinuz     the /boot/vmlinuz-* of the linux-image-*-amd64
#                                     package that linux-image-amd64 depends on
#   initrd -> build/linux/initrd.img  busybox-static, /init, memfill, lspci and the
#                                     virtio and ext4 modules of that kernel (gzip'd newc)
#   rootfs -> build/linux/rootfs.img  an ext4 image of the busybox tree (mke2fs -d)
# Usage: scripts/linux-artefacts.sh kernel|initrd|rootfs|all
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

# The modules /init loads, with what they depend on (scripts/kmods.py reads
# each module's .modinfo: the package has no modules.dep).
MODULES="virtio_pci virtio_blk virtio_net virtio_balloon crc32c_generic ext4"
MODULE_PATHS="drivers/virtio drivers/block/virtio_blk.ko drivers/net/virtio_net.ko
	drivers/net/net_failover.ko net/core/failover.ko fs/ext4 fs/jbd2 fs/mbcache.ko
	lib/crc16.ko crypto/crc32c_generic.ko"

# The modules of the kernel vmlinuz came from, in $1 with load.order.
modules() {
	pkg=$(cat "$OUT/kernel-package" 2>/dev/null || kernel_package)
	deb=$(fetch "$pkg")
	m=$(mktemp -d "$OUT/.m.XXXXXX")
	pats=""
	for p in $MODULE_PATHS; do pats="$pats ./lib/modules/*/kernel/$p"; done
	# shellcheck disable=SC2086 # the patterns are words
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$m" --wildcards $pats
	python3 scripts/kmods.py --from "$m" --out "$1" $MODULES >&2
	rm -rf "$m"
}

initrd() {
	deb=$(fetch busybox-static)
	x=$(mktemp -d "$OUT/.x.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" ./bin/busybox
	for prog in memfill lspci; do
		gcc -static -O2 -Wall -Wextra -Werror -o "$x/$prog" tests/guests/linux/$prog.c
		strip "$x/$prog"
	done
	modules "$x/modules"
	python3 scripts/mkinitramfs.py -o "$OUT/initrd.img" \
		--busybox "$x/bin/busybox" \
		--file /init=tests/guests/linux/init:755 \
		--file /etc/profile=tests/guests/linux/profile:644 \
		--file /bin/memfill="$x/memfill":755 \
		--file /bin/lspci="$x/lspci":755 \
		--file /bin/hvtest=tests/guests/linux/hvtest:755 \
		--dir /lib/modules="$x/modules"
	rm -rf "$x"
	echo "built $OUT/initrd.img ($(stat -c %s "$OUT/initrd.img") bytes)"
}

# The busybox tree as an ext4 image: 10 MiB of 4 KiB blocks (the journal takes
# 4 MiB), no reserved blocks; a fixed UUID, hash seed and time keep it reproducible.
rootfs() {
	deb=$(fetch busybox-static)
	x=$(mktemp -d "$OUT/.r.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" ./bin/busybox
	python3 scripts/mkinitramfs.py -o "$x/unused.img" --busybox "$x/bin/busybox" \
		--file /etc/profile=tests/guests/linux/profile:644 \
		--file /etc/hv-rootfs=tests/guests/linux/hv-rootfs:644 \
		--file /bin/hvtest=tests/guests/linux/hvtest:755 --tree "$x/tree"
	rm -f "$OUT/rootfs.img"
	truncate -s 10M "$OUT/rootfs.img"
	uuid=6876726f-6f74-4673-8000-000000000001
	E2FSPROGS_FAKE_TIME=1 mke2fs -q -t ext4 -b 4096 -m 0 -O ^resize_inode -N 256 \
		-L hvroot -U $uuid -E hash_seed=$uuid,root_owner=0:0 \
		-d "$x/tree" "$OUT/rootfs.img"
	# mke2fs -d copies each file's ctime, which the host sets: time 0 instead.
	(cd "$x/tree" && find . | sed 's|^\.|sif |; s|$| ctime 0|') > "$x/ctime.cmds"
	debugfs -w -f "$x/ctime.cmds" "$OUT/rootfs.img" >/dev/null 2>&1
	rm -rf "$x"
	echo "built $OUT/rootfs.img ($(stat -c %s "$OUT/rootfs.img") bytes)"
}

case "$what" in
kernel) kernel ;;
initrd) initrd ;;
rootfs) rootfs ;;
all) kernel; initrd; rootfs ;;
*) echo "usage: $0 kernel|initrd|rootfs|all" >&2; exit 2 ;;
esac
