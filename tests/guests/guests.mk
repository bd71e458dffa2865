# Test guests: NASM flat binaries in build/guests/.
# hello_elf*.asm and multiboot.asm are linked into ELF images; the rest are flat binaries.
GUEST_ELF	:= tests/guests/hello_elf.asm tests/guests/hello_elf32.asm \
		   tests/guests/multiboot.asm
GUEST_SRC	:= $(filter-out $(GUEST_ELF),$(wildcard tests/guests/*.asm))
GUEST_BINS	:= $(GUEST_SRC:tests/guests/%.asm=$(BUILD)/guests/%.bin) \
		   $(BUILD)/guests/hello_elf.bin $(BUILD)/guests/hello_elf32.bin \
		   $(BUILD)/guests/multiboot.bin $(BUILD)/guests/multiboot_low.bin \
		   $(BUILD)/guests/mbmod.txt \
		   $(BUILD)/guests/old_bzimage.img $(BUILD)/guests/pattern.img

$(BUILD)/guests/hello_elf.bin: tests/guests/hello_elf.asm tests/guests/guest.inc
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -I tests/guests/ -o $(BUILD)/guests/hello_elf.o $<
	ld -m elf_x86_64 -N -Ttext=0x100000 -e start -z noexecstack --no-warn-rwx-segments -o $@ $(BUILD)/guests/hello_elf.o

$(BUILD)/guests/hello_elf32.bin: tests/guests/hello_elf32.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 -o $(BUILD)/guests/hello_elf32.o $<
	ld -m elf_i386 -N -Ttext=0x100000 -e start -z noexecstack --no-warn-rwx-segments -o $@ $(BUILD)/guests/hello_elf32.o

# A Multiboot v1 kernel (ELF32, header in the first 8 KiB) and its module;
# multiboot_low.bin is the same kernel with its segment at 0x8000.
$(BUILD)/guests/multiboot.o: tests/guests/multiboot.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 -o $@ $<

$(BUILD)/guests/multiboot.bin: $(BUILD)/guests/multiboot.o
	ld -m elf_i386 -N -Ttext=0x100000 -e start -z noexecstack --no-warn-rwx-segments -o $@ $<

$(BUILD)/guests/multiboot_low.bin: $(BUILD)/guests/multiboot.o
	ld -m elf_i386 -N -Ttext=0x8000 -e start -z noexecstack --no-warn-rwx-segments -o $@ $<

$(BUILD)/guests/mbmod.txt: tests/guests/mbmod.txt
	@mkdir -p $(dir $@)
	cp $< $@

# A bzImage the loader must refuse: boot protocol 2.06, older than the 64-bit entry.
$(BUILD)/guests/old_bzimage.img: tests/guests/guests.mk
	@mkdir -p $(dir $@)
	python3 -c "import sys; b=bytearray(8192); b[0x1f1]=4; \
	  b[0x1fe:0x200]=b'\x55\xaa'; b[0x200:0x202]=b'\xeb\x62'; b[0x202:0x208]=b'HdrS\x06\x02'; \
	  b[0x211]=1; open(sys.argv[1],'wb').write(b)" $@

$(BUILD)/guests/%.bin: tests/guests/%.asm tests/guests/guest.inc
	@mkdir -p $(dir $@)
	$(NASM) -f bin -I tests/guests/ -o $@ $<

$(BUILD)/guests/memz.bin $(BUILD)/guests/memloop.bin: tests/guests/memz.inc

all: $(GUEST_BINS)

$(BUILD)/hv-guests.iso: $(MEDIA_DEPS) $(GUEST_BINS) tests/guests/guests.cfg
	scripts/mkimage.sh iso tests/guests/guests.cfg hv-guests.iso

$(BUILD)/hv-mmu.iso: $(MEDIA_DEPS) $(GUEST_BINS) tests/guests/mmu.cfg
	scripts/mkimage.sh iso tests/guests/mmu.cfg hv-mmu.iso

images: $(BUILD)/hv-guests.iso $(BUILD)/hv-mmu.iso

# The disk of behave_pci: 16 blocks of 4 KiB, block b the byte b after "BLOCK" and b.
$(BUILD)/guests/pattern.img: tests/guests/guests.mk
	@mkdir -p $(dir $@)
	python3 -c "import sys; open(sys.argv[1],'wb').write(b''.join(b'BLOCK' + bytes([b, 0, 0]) + \
	  bytes([b]) * 4088 for b in range(16)))" $@
