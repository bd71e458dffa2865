#!/bin/sh
# Boot the hypervisor with its serial console on this terminal.
#   scripts/run.sh [qemu|kvm|bochs]    (default: kvm when /dev/kvm offers nested VT-x, else bochs)
# QEMU: Ctrl-A X quits.  Bochs: Ctrl-C quits.  CPUS=N and MEM=MiB override.
# GDB_PORT=N: COM2 for the GDB stub (docs/gdb.md) on 127.0.0.1:N, for `target remote`.
set -eu
cd "$(dirname "$0")/.."
emu=${1:-}
if [ -z "$emu" ]; then
	# KVM only where our guests get VT-x: an Intel host whose /dev/kvm is usable
	# and whose kvm_intel allows nested VMX.  Elsewhere Bochs emulates VT-x with
	# EPT: slow, but the guests run; QEMU's TCG has no VT-x at all.
	case $(cat /sys/module/kvm_intel/parameters/nested 2>/dev/null) in
	Y|1) nested=yes ;;
	*) nested=no ;;
	esac
	if [ -w /dev/kvm ] && [ $nested = yes ] && grep -qw vmx /proc/cpuinfo; then
		emu=kvm
	else
		emu=bochs
		echo "run: this host offers no nested VT-x (needs an Intel CPU, /dev/kvm and kvm_intel nested=Y):"
		echo "run: booting under Bochs, whose CPU emulates VT-x (about 20 s to the shell); for the"
		echo "run: quick QEMU shell without guests: make run EMU=qemu"
	fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$emu" in
qemu|kvm)
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
	accel=""
	[ "$emu" = kvm ] && accel="-enable-kvm -cpu host,+vmx"
	com2=""
	if [ -n "${GDB_PORT:-}" ]; then
		com2="-serial tcp:127.0.0.1:$GDB_PORT,server=on,wait=off"
		echo "run: COM2 on 127.0.0.1:$GDB_PORT: 'gdb NAME com2' in the shell, then in GDB:" \
			"target remote 127.0.0.1:$GDB_PORT"
	fi
	echo "run: QEMU ($emu) from build/usb.img, ${CPUS:-4} CPUs; Ctrl-A X quits"
	# shellcheck disable=SC2086
	exec qemu-system-x86_64 $accel -machine q35 -smp "${CPUS:-4}" -m "${MEM:-512}" \
		-nodefaults -display none -no-reboot -serial mon:stdio $com2 \
		-drive if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.fd,readonly=on \
		-drive if=pflash,format=raw,unit=1,file="$tmp/vars.fd" \
		-device qemu-xhci,id=xhci \
		-drive file=build/usb.img,format=raw,if=none,id=stick,readonly=on \
		-device usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 ;;
bochs)
	echo "run: Bochs (VT-x with EPT) from build/hv.iso, ${CPUS:-2} CPUs; Ctrl-C quits"
	exec python3 scripts/console.py bochs "${CPUS:-2}" "${MEM:-256}" ;;
*)
	echo "usage: $0 [qemu|kvm|bochs]" >&2; exit 2 ;;
esac
