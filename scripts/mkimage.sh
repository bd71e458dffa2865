#!/bin/sh
# Build the boot media from build/BOOTX64.EFI, hv.cfg and the files it names:
#   usb  -> build/usb.img  (GPT disk, one EFI system partition; dd it to a stick)
#   iso  -> build/hv.iso   (El Torito CD with the same ESP image, for Bochs)
#   pxe  -> build/tftp/    (TFTP root: BOOTX64.EFI, hv.cfg, guest files)
#   dir  -> build/esp/     (a directory QEMU can serve as a FAT drive)
# Usage: scripts/mkimage.sh usb|iso|pxe|dir [CFG] [ISO-NAME]
set -eu
what=$1
cfg=${2:-scripts/hv.cfg}
iso=${3:-hv.iso}
B=build
efi=$B/BOOTX64.EFI
[ -f "$efi" ] || { echo "mkimage: $efi missing: run make first" >&2; exit 1; }
[ -f "$cfg" ] || { echo "mkimage: config $cfg missing" >&2; exit 1; }

# Files hv.cfg names (image/initrd/module/disk = NAME), looked up in build/guests/
# (the test guests), then build/linux/ (scripts/linux-artefacts.sh).  A missing
# one is an error: the medium would boot without that guest.  A config that
# leaves one out on purpose says so in a line "# mkimage: absent NAME".
extra_files() {
	sed -n 's/^[[:space:]]*\(image\|initrd\|module\|disk\)[[:space:]]*=[[:space:]]*\([^[:space:]#]*\).*/\2/p' "$cfg" |
	sort -u | while read -r f; do
		if [ -f "$B/guests/$f" ]; then echo "$B/guests/$f"
		elif [ -f "$B/linux/$f" ]; then echo "$B/linux/$f"
		elif grep -qx "# mkimage: absent $f" "$cfg"; then :
		else
			echo "mkimage: $f (named in $cfg) is in neither $B/guests nor $B/linux" >&2
			echo "MISSING"
		fi
	done
}

copy_extra() {
	files=$(extra_files)
	case "$files" in *MISSING*) exit 1 ;; esac
	for f in $files; do cp "$f" "$1/"; done
}

# Scratch space of this run, so that parallel make can build several media.
T=$(mktemp -d "$B/.mkimage.XXXXXX")
trap 'rm -rf "$T"' EXIT

esp_dir() {
	rm -rf "$1"
	mkdir -p "$1/EFI/BOOT"
	cp "$efi" "$1/EFI/BOOT/BOOTX64.EFI"
	cp "$cfg" "$1/hv.cfg"
	copy_extra "$1"
}

# A FAT image of the ESP directory, sized to fit with room to spare: $T/esp.img.
esp_img() {
	esp_dir "$T/esp"
	kib=$(du -sk --apparent-size "$T/esp" | cut -f1)	# sparse disk images count whole
	mib=$(( (kib / 1024) + 8 ))
	[ $mib -lt 16 ] && mib=16
	dd if=/dev/zero of="$T/esp.img" bs=1M count=$mib status=none
	mkfs.fat -n HVBOOT "$T/esp.img" >/dev/null
	mcopy -s -i "$T/esp.img" "$T"/esp/* ::/
}

case "$what" in
dir)
	esp_dir "$B/esp" ;;
usb)
	esp_img
	esp_mib=$(( $(stat -c %s "$T/esp.img") / 1048576 ))
	dd if=/dev/zero of="$T/usb.img" bs=1M count=$(( esp_mib + 2 )) status=none
	sgdisk -o -n 1:2048:+${esp_mib}M -t 1:ef00 -c 1:"EFI system" "$T/usb.img" >/dev/null
	dd if="$T/esp.img" of="$T/usb.img" bs=1M seek=1 conv=notrunc status=none
	mv "$T/usb.img" "$B/usb.img"
	echo "built $B/usb.img (GPT, ESP ${esp_mib} MiB)" ;;
iso)
	esp_img
	mkdir -p "$T/isoroot"
	mv "$T/esp.img" "$T/isoroot/esp.img"
	xorriso -as mkisofs -quiet -o "$T/$iso" -e esp.img -no-emul-boot "$T/isoroot" 2>/dev/null
	mv "$T/$iso" "$B/$iso"
	echo "built $B/$iso" ;;
pxe)
	rm -rf "$B/tftp"
	mkdir -p "$B/tftp"
	cp "$efi" "$B/tftp/BOOTX64.EFI"
	cp "$cfg" "$B/tftp/hv.cfg"
	copy_extra "$B/tftp"
	echo "built $B/tftp/" ;;
*)
	echo "usage: $0 usb|iso|pxe|dir [CFG]" >&2; exit 2 ;;
esac
