# The C test guests (tests/guests/c/): one program, built by GCC for real,
# protected and long mode at -O0 and -O2, each a Multiboot v1 kernel.  Real
# and protected mode are ELF32 executables (real mode: one segment from
# 0x8000, code below 64 KiB); long mode is a flat binary placed by the
# Multiboot header's address fields.  No libgcc: the runtime brings the
# 64-bit division 16- and 32-bit code needs.
CG_DIR		:= tests/guests/c
CG_C		:= $(CG_DIR)/main.c $(CG_DIR)/rt.c $(CG_DIR)/mb.c $(CG_DIR)/apic.c $(CG_DIR)/ioapic.c \
		   $(CG_DIR)/bigmem.c
CG_HDRS		:= $(wildcard $(CG_DIR)/*.h)
CG_CFLAGS	:= -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
		   -mgeneral-regs-only -fno-asynchronous-unwind-tables -fcf-protection=none \
		   -fno-delete-null-pointer-checks -Wall -Wextra -Werror -I.
CG_real_FLAGS	:= -m16 -march=i686 -DRT_REAL
CG_prot_FLAGS	:= -m32 -march=i686
CG_long_FLAGS	:= -m64 -mno-red-zone -DRT_LONG
CG_real_LD	:= -m elf_i386 -T $(CG_DIR)/real.ld
CG_prot_LD	:= -m elf_i386 -T $(CG_DIR)/flat.ld
CG_long_LD	:= -m elf_x86_64 -T $(CG_DIR)/flat.ld
CG_LDFLAGS	:= -nostdlib -static -N -z noexecstack --no-warn-rwx-segments
CG_real_BIN	:= cp
CG_prot_BIN	:= cp
CG_long_BIN	:= objcopy -O binary
CG_BINS		:=

# $(call cguest,MODE,OPT): build/guests/cg_MODE_OPT.bin
define cguest
CG_BINS += $(BUILD)/guests/cg_$(1)_$(2).bin
$(BUILD)/guests/c/$(1)_$(2)/%.o: $(CG_DIR)/%.c $(CG_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CG_CFLAGS) $$(CG_$(1)_FLAGS) -$(2) -DRT_OPT='"$(2)"' -c $$< -o $$@
$(BUILD)/guests/c/$(1)_$(2)/%.S.o: $(CG_DIR)/%.S $(CG_DIR)/stubs.inc
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CG_$(1)_FLAGS) -I. -c $$< -o $$@
$(BUILD)/guests/cg_$(1)_$(2).elf: $(CG_C:$(CG_DIR)/%.c=$(BUILD)/guests/c/$(1)_$(2)/%.o) \
		$(BUILD)/guests/c/$(1)_$(2)/entry.S.o $(BUILD)/guests/c/$(1)_$(2)/crt0_$(1).S.o \
		$(CG_DIR)/real.ld $(CG_DIR)/flat.ld
	ld $$(CG_LDFLAGS) $$(CG_$(1)_LD) -o $$@ $$(filter %.o,$$^)
$(BUILD)/guests/cg_$(1)_$(2).bin: $(BUILD)/guests/cg_$(1)_$(2).elf
	$$(CG_$(1)_BIN) $$< $$@
endef

$(foreach m,real prot long,$(foreach o,O0 O2,$(eval $(call cguest,$(m),$(o)))))

all: $(CG_BINS)

$(BUILD)/hv-cguests.iso: $(MEDIA_DEPS) $(CG_BINS) $(BUILD)/guests/mbmod.txt tests/guests/cguests.cfg
	scripts/mkimage.sh iso tests/guests/cguests.cfg hv-cguests.iso

images: $(BUILD)/hv-cguests.iso

SCRIPT_TESTS += tests/boot/test_bochs_cguests.py
