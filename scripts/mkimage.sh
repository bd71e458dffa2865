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

# Files hv.cfg names (image/initrd/module = NAME), looked up in build/guests/.
extra_files() {
	sed -n 's/^[[:space:]]*\(image\|initrd\|module\)[[:space:]]*=[[:space:]]*\([^[:space:]#]*\).*/\2/p' "$cfg" |
	while read -r f; do
		if [ -f "$B/guests/$f" ]; then echo "$B/guests/$f"
		else echo "mkimage: warning: $f (named in $cfg) not found in $B/guests" >&2; fi
	done | sort -u
}

esp_dir() {
	rm -rf "$B/esp"
	mkdir -p "$B/esp/EFI/BOOT"
	cp "$efi" "$B/esp/EFI/BOOT/BOOTX64.EFI"
	cp "$cfg" "$B/esp/hv.cfg"
	for f in $(extra_files); do cp "$f" "$B/esp/"; done
}

# A FAT image of the ESP directory, sized to fit with room to spare.
esp_img() {
	esp_dir
	kib=$(du -sk "$B/esp" | cut -f1)
	mib=$(( (kib / 1024) + 8 ))
	[ $mib -lt 16 ] && mib=16
	rm -f "$B/esp.img"
	dd if=/dev/zero of="$B/esp.img" bs=1M count=$mib status=none
	mkfs.fat -n HVBOOT "$B/esp.img" >/dev/null
	mcopy -s -i "$B/esp.img" "$B"/esp/* ::/
}

case "$what" in
dir)
	esp_dir ;;
usb)
	esp_img
	esp_mib=$(( $(stat -c %s "$B/esp.img") / 1048576 ))
	rm -f "$B/usb.img"
	dd if=/dev/zero of="$B/usb.img" bs=1M count=$(( esp_mib + 2 )) status=none
	sgdisk -o -n 1:2048:+${esp_mib}M -t 1:ef00 -c 1:"EFI system" "$B/usb.img" >/dev/null
	dd if="$B/esp.img" of="$B/usb.img" bs=1M seek=1 conv=notrunc status=none
	echo "built $B/usb.img (GPT, ESP ${esp_mib} MiB)" ;;
iso)
	esp_img
	rm -rf "$B/isoroot" "$B/$iso"
	mkdir -p "$B/isoroot"
	cp "$B/esp.img" "$B/isoroot/esp.img"
	xorriso -as mkisofs -quiet -o "$B/$iso" -e esp.img -no-emul-boot "$B/isoroot" 2>/dev/null
	echo "built $B/$iso" ;;
pxe)
	rm -rf "$B/tftp"
	mkdir -p "$B/tftp"
	cp "$efi" "$B/tftp/BOOTX64.EFI"
	cp "$cfg" "$B/tftp/hv.cfg"
	for f in $(extra_files); do cp "$f" "$B/tftp/"; done
	echo "built $B/tftp/" ;;
*)
	echo "usage: $0 usb|iso|pxe|dir [CFG]" >&2; exit 2 ;;
esac
