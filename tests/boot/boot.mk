# Boot tests under emulators; they need the boot media.
SCRIPT_TESTS += tests/boot/test_qemu_usb.py tests/boot/test_qemu_pxe.py tests/boot/test_bochs_vmx.py \
		tests/boot/test_bochs_guests.py tests/boot/test_bochs_mmu.py tests/boot/test_make_run.py
