# Behaviour guests: what a guest sees (CPUID, MSRs, exceptions, ports, local
# APIC, I/O APIC, PCI and a virtio disk), checked against the SDM and the specs.  guests.mk builds every
# tests/guests/*.asm; this adds their shared include, their boot image and
# their Bochs test.
BEHAVE_BINS	:= $(patsubst tests/guests/%.asm,$(BUILD)/guests/%.bin,\
		   $(wildcard tests/guests/behave_*.asm))

$(BEHAVE_BINS): tests/guests/behave.inc

$(BUILD)/hv-behave.iso: $(MEDIA_DEPS) $(BEHAVE_BINS) $(BUILD)/guests/pattern.img \
			tests/guests/behave.cfg
	scripts/mkimage.sh iso tests/guests/behave.cfg hv-behave.iso

images: $(BUILD)/hv-behave.iso

SCRIPT_TESTS += tests/boot/test_bochs_behave.py
