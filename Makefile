# Top-level build.  `make` builds build/BOOTX64.EFI; `make test` runs every
# test and ends with "N passed, N failed, N skipped".  See README.md.

.DEFAULT_GOAL := all
BUILD		:= build
HOST_CC		?= gcc
# Uninitialised locals read as 0xfe.. on every machine, not as whatever
# garbage this machine's stack held: such a bug fails the same way everywhere.
INIT_PATTERN	:= -ftrivial-auto-var-init=pattern
HOST_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -I. -DHOSTED -DDEBUG \
		   $(INIT_PATTERN)
TSAN_CFLAGS	:= $(filter-out -O2,$(HOST_CFLAGS)) -O1 -fsanitize=thread -Wno-tsan
ASAN_CFLAGS	:= $(filter-out -O2,$(HOST_CFLAGS)) -O1 -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined -fno-omit-frame-pointer
HOSTED_SRC	:= tests/host/hosted.c
HDRS		:= $(wildcard */*.h hv/*/*.h tests/host/*.h)

HOST_TESTS	:=
COV_TESTS	:=
HV_CFG		?= scripts/hv.cfg
MEDIA_DEPS	= $(BUILD)/BOOTX64.EFI $(HV_CFG) scripts/mkimage.sh
SCRIPT_TESTS	:=

# $(call host_test,NAME,SOURCES): a host test binary build/host/NAME, and
# its --coverage twin build/cov/NAME for `make coverage`.
define host_test
HOST_TESTS += $(BUILD)/host/$(1)
COV_TESTS += $(BUILD)/cov/$(1)
$(BUILD)/host/$(1): $(2) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(HOST_CC) $$(HOST_CFLAGS) -o $$@ $(2) $(HOSTED_SRC)
$(BUILD)/cov/$(1): $(2) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(HOST_CC) $$(filter-out -O2,$$(HOST_CFLAGS)) -O0 --coverage -o $$@ $(2) $(HOSTED_SRC)
endef

# $(call host_test_tsan,NAME,SOURCES): the same under ThreadSanitizer.
define host_test_tsan
HOST_TESTS += $(BUILD)/host/$(1)-tsan
$(BUILD)/host/$(1)-tsan: $(2) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(HOST_CC) $$(TSAN_CFLAGS) -o $$@ $(2) $(HOSTED_SRC)
endef

# $(call host_test_asan,NAME,SOURCES): NAME under AddressSanitizer and UBSan.
define host_test_asan
HOST_TESTS += $(BUILD)/host/$(1)-asan
$(BUILD)/host/$(1)-asan: $(2) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(HOST_CC) $$(ASAN_CFLAGS) -o $$@ $(2) $(HOSTED_SRC)
endef

# ---- the hypervisor monolith (freestanding, linked by linker.ld) ----
CC		:= gcc
NASM		:= nasm
HV_CFLAGS	:= -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mcmodel=kernel \
		   -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
		   -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
		   -Wall -Wextra -Werror -I. -MMD -MP $(INIT_PATTERN)
# `make HV_DEBUG=1`: the hypervisor with ASSERT() and lockdep_assert_held() on.
ifneq ($(HV_DEBUG),)
HV_CFLAGS	+= -DDEBUG
endif
HV_LDFLAGS	:= -nostdlib -static -z max-page-size=4096 -z noexecstack -T linker.ld
HV_C		:= $(wildcard hv/*.c hv/*/*.c lib/*.c smp/*.c ept/*.c rmap/*.c store/*.c)
HV_ASM		:= $(wildcard hv/*.asm hv/*/*.asm smp/*.asm)
HV_OBJS		:= $(HV_C:%.c=$(BUILD)/hv-obj/%.o) $(HV_ASM:%.asm=$(BUILD)/hv-obj/%.asm.o)

$(BUILD)/hv-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv-obj/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -o $@ $<

# Two links: the first one's text symbols become the table backtraces use.
# The table lives in .rodata after .text, so the text addresses stay put;
# the second rule checks that they did.
$(BUILD)/hv0.elf: $(HV_OBJS) linker.ld
	ld $(HV_LDFLAGS) -o $@ $(HV_OBJS)

$(BUILD)/symtab.c: $(BUILD)/hv0.elf scripts/gen_symtab.sh
	scripts/gen_symtab.sh $< > $@

$(BUILD)/symtab.o: $(BUILD)/symtab.c
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv.elf: $(HV_OBJS) $(BUILD)/symtab.o linker.ld
	ld $(HV_LDFLAGS) -o $@ $(HV_OBJS) $(BUILD)/symtab.o
	@nm -n $(BUILD)/hv0.elf | awk '$$2 ~ /^[tT]$$/' > $(BUILD)/syms0.txt
	@nm -n $@ | awk '$$2 ~ /^[tT]$$/' > $(BUILD)/syms1.txt
	@cmp -s $(BUILD)/syms0.txt $(BUILD)/syms1.txt || { echo "text moved between links"; exit 1; }

# ---- the UEFI loader (GNU-EFI), with the monolith embedded ----
EFI_INC		:= -I/usr/include/efi -I/usr/include/efi/x86_64
EFI_CFLAGS	:= -std=gnu11 -O2 -ffreestanding -fno-stack-protector -fpic -fshort-wchar \
		   -mno-red-zone -mno-mmx -mno-sse -maccumulate-outgoing-args \
		   -DGNU_EFI_USE_MS_ABI $(EFI_INC) -I. -Wall -Wextra -Werror \
		   -Wno-unused-parameter -MMD -MP $(INIT_PATTERN)
EFI_C		:= $(wildcard boot/*.c)
EFI_OBJS	:= $(EFI_C:%.c=$(BUILD)/efi-obj/%.o)

$(BUILD)/efi-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/hv_blob.o: $(BUILD)/hv.elf
	objcopy --strip-debug $< $(BUILD)/blob/hv.elf 2>/dev/null || \
	  { mkdir -p $(BUILD)/blob && objcopy --strip-debug $< $(BUILD)/blob/hv.elf; }
	cd $(BUILD)/blob && objcopy -I binary -O elf64-x86-64 -B i386:x86-64 hv.elf ../hv_blob.o

$(BUILD)/loader.so: $(EFI_OBJS) $(BUILD)/hv_blob.o
	ld -shared -Bsymbolic -nostdlib -z noexecstack -T /usr/lib/elf_x86_64_efi.lds \
	  /usr/lib/crt0-efi-x86_64.o $(EFI_OBJS) $(BUILD)/hv_blob.o \
	  -L/usr/lib -lefi -lgnuefi -o $@

$(BUILD)/BOOTX64.EFI: $(BUILD)/loader.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
	  -j .rela -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 \
	  --subsystem=10 $< $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- tests and test guests ----
# Included before the media rules: a rule's prerequisites are expanded when
# make reads it, so $(GUEST_BINS) must be defined by then, or `make run` on a
# clean clone builds an image without its guests.
include $(sort $(wildcard tests/*/*.mk))

# The layering of docs/design.md ("The map"): no loop across folders, no
# edge against the direction rules (from includes and the objects' symbols).
SCRIPT_TESTS += scripts/check_layers.py

# ---- boot media ----

$(BUILD)/usb.img: $(MEDIA_DEPS) $(GUEST_BINS)
	scripts/mkimage.sh usb $(HV_CFG)
$(BUILD)/hv.iso: $(MEDIA_DEPS) $(GUEST_BINS)
	scripts/mkimage.sh iso $(HV_CFG)
$(BUILD)/tftp/BOOTX64.EFI: $(MEDIA_DEPS) $(GUEST_BINS)
	scripts/mkimage.sh pxe $(HV_CFG)

.PHONY: usb iso pxe images run deps coverage
usb: $(BUILD)/usb.img
iso: $(BUILD)/hv.iso
pxe: $(BUILD)/tftp/BOOTX64.EFI
images: usb iso pxe

deps:
	@scripts/deps.sh

# Boots on the best emulator here (EMU=qemu|bochs|kvm to choose); see README.
run: deps images
	@scripts/run.sh $(EMU)

.PHONY: all host-tests test clean
all: $(BUILD)/BOOTX64.EFI

host-tests: $(HOST_TESTS)

# Per-program limit: the quick Linux boot under Bochs takes about ten minutes.
test: all host-tests images
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  TEST_TIMEOUT=$${TEST_TIMEOUT:-1800} python3 tests/run.py $(HOST_TESTS) $(SCRIPT_TESTS)

# Host tests built with --coverage; report in build/coverage/index.html.
coverage: deps
	rm -rf $(BUILD)/cov $(BUILD)/coverage
	$(MAKE) $(COV_TESTS)
	for t in $(COV_TESTS); do $$t >/dev/null || exit 1; done
	lcov -q --capture --directory $(BUILD)/cov --output-file $(BUILD)/cov/all.info
	lcov -q --remove $(BUILD)/cov/all.info '*/tests/*' '/usr/*' --output-file $(BUILD)/cov/code.info
	genhtml -q $(BUILD)/cov/code.info --output-directory $(BUILD)/coverage
	@lcov --summary $(BUILD)/cov/code.info 2>&1 | grep -E "lines|functions"

clean:
	rm -rf $(BUILD)
