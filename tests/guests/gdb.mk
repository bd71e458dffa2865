# The guests GDB debugs under Bochs (tests/boot/test_bochs_gdb.py): gdbt, a C
# program built as an ELF64 with symbols for GDB to load, and gdbrm, a
# real-mode NASM guest (built by guests.mk like every tests/guests/*.asm).
GDB_GUEST_CFLAGS := -std=gnu11 -g -O0 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
		    -mno-red-zone -mgeneral-regs-only -fno-builtin -Wall -Wextra -Werror

$(BUILD)/guests/gdbt.elf: tests/guests/gdbt.c tests/guests/gdb.mk
	@mkdir -p $(dir $@)
	$(CC) $(GDB_GUEST_CFLAGS) -c -o $(BUILD)/guests/gdbt.o $<
	ld -m elf_x86_64 -N -Ttext=0x100000 -e _start -z noexecstack --no-warn-rwx-segments \
	  -o $@ $(BUILD)/guests/gdbt.o

GUEST_BINS += $(BUILD)/guests/gdbt.elf
all: $(BUILD)/guests/gdbt.elf

$(BUILD)/hv-gdb.iso: $(MEDIA_DEPS) $(BUILD)/guests/gdbt.elf $(BUILD)/guests/gdbrm.bin \
		$(BUILD)/guests/hello.bin tests/guests/gdb.cfg
	scripts/mkimage.sh iso tests/guests/gdb.cfg hv-gdb.iso

images: $(BUILD)/hv-gdb.iso

SCRIPT_TESTS += tests/boot/test_bochs_gdb.py
