# The Linux guest (docs/linux-guests.md): Debian's stock kernel and a busybox
# initramfs, built from Debian packages by scripts/linux-artefacts.sh into
# build/linux/ (the .debs are cached in build/linux/debs).  `make test` runs
# the quick Linux test (linux1 and linux2 booted side by side, one Bochs
# session); `make test-linux` runs the whole one (poweroff, reboot, the
# overcommitted guest: four boots); `make test TEST_LINUX=1` adds it to `test`.
LINUX_DIR	:= $(BUILD)/linux
LINUX_FILES	:= $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/initrd.img $(LINUX_DIR)/rootfs.img
LINUX_ISOS	:= $(BUILD)/hv-linux.iso $(BUILD)/hv-linux-over.iso
LINUX_TESTS	:= tests/boot/test_bochs_linux.py
LINUX_QUICK	:= tests/boot/test_bochs_linux_quick.py

SCRIPT_TESTS += $(LINUX_QUICK)
test: $(BUILD)/hv-linux.iso

$(LINUX_DIR)/vmlinuz: scripts/linux-artefacts.sh
	scripts/linux-artefacts.sh kernel

# The modules in the initramfs come from the kernel's own package.
$(LINUX_DIR)/initrd.img: scripts/linux-artefacts.sh scripts/mkinitramfs.py scripts/kmods.py \
			 $(LINUX_DIR)/vmlinuz $(wildcard tests/guests/linux/*)
	scripts/linux-artefacts.sh initrd

$(LINUX_DIR)/rootfs.img: scripts/linux-artefacts.sh scripts/mkinitramfs.py \
			 tests/guests/linux/profile tests/guests/linux/hv-rootfs \
			 tests/guests/linux/hvtest tests/guests/linux/inittab
	scripts/linux-artefacts.sh rootfs

$(BUILD)/hv-linux.iso: $(MEDIA_DEPS) $(LINUX_FILES) tests/guests/linux.cfg
	scripts/mkimage.sh iso tests/guests/linux.cfg hv-linux.iso

$(BUILD)/hv-linux-over.iso: $(MEDIA_DEPS) $(LINUX_FILES) tests/guests/linux-over.cfg
	scripts/mkimage.sh iso tests/guests/linux-over.cfg hv-linux-over.iso

.PHONY: linux linux-images test-linux run-linux
# Bochs with linux1 and linux2 (`guest start linux1`, `console linux1`); Ctrl-C quits.
run-linux: deps all $(BUILD)/hv-linux.iso
	ISO=hv-linux.iso IPS=100000000 python3 scripts/console.py bochs $${CPUS:-4} $${MEM:-512}

linux: $(LINUX_FILES)
linux-images: $(LINUX_ISOS)

# One Bochs at a time; the runner's per-program limit is raised to fit four boots
# and the overcommitted fill (about 40 minutes when all goes well).
test-linux: all linux-images
	@TEST_TIMEOUT=$${TEST_TIMEOUT:-10800} python3 tests/run.py $(LINUX_TESTS)

ifneq ($(TEST_LINUX),)
SCRIPT_TESTS += $(LINUX_TESTS)
test: linux-images
endif
