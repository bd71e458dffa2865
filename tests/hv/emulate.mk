# The MMIO instruction emulator and the guest page-table walker (hv/vmx/):
# unit tests, a cross-check against this machine's CPU, their ASan/UBSan
# twins, and fuzz_emulate in `make fuzz`.  Building a test also builds the
# module with the hypervisor's freestanding flags: it must stay portable.
EMU_SRC		:= hv/vmx/emulate.c hv/vmx/emulate_decode.c hv/vmx/emulate_alu.c \
		   hv/vmx/gva.c
EMU_HDRS	:= $(wildcard hv/vmx/*.h tests/hv/vmx/*.h)
EMU_OBJS	:= $(EMU_SRC:%.c=$(BUILD)/hv-obj/%.o)
EMU_TESTS	:= hv/vmx/test_gva hv/vmx/test_emulate hv/vmx/test_emulate_vs_cpu

$(eval $(call host_test,hv/vmx/test_gva,tests/hv/vmx/test_gva.c hv/vmx/gva.c))
$(eval $(call host_test_asan,hv/vmx/test_gva,tests/hv/vmx/test_gva.c hv/vmx/gva.c))
$(eval $(call host_test,hv/vmx/test_emulate,tests/hv/vmx/test_emulate.c $(EMU_SRC)))
$(eval $(call host_test_asan,hv/vmx/test_emulate,tests/hv/vmx/test_emulate.c $(EMU_SRC)))
$(eval $(call host_test,hv/vmx/test_emulate_vs_cpu,tests/hv/vmx/test_emulate_vs_cpu.c \
	$(EMU_SRC)))
$(eval $(call host_test_asan,hv/vmx/test_emulate_vs_cpu,tests/hv/vmx/test_emulate_vs_cpu.c \
	$(EMU_SRC)))

# HDRS is */*.h: these headers are one folder deeper.
$(foreach t,$(EMU_TESTS),$(BUILD)/host/$(t) $(BUILD)/host/$(t)-asan $(BUILD)/cov/$(t)): \
	$(EMU_HDRS) $(EMU_OBJS)

# `make fuzz` runs fuzz_emulate too (FUZZ_* are set in tests/store/store.mk, read later).
$(BUILD)/fuzz/fuzz_emulate: tests/hv/vmx/fuzz_emulate.c $(EMU_SRC) $(EMU_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/hv/vmx/fuzz_emulate.c $(EMU_SRC)

.PHONY: fuzz-emulate
fuzz: fuzz-emulate
fuzz-emulate: $(BUILD)/fuzz/fuzz_emulate
	@mkdir -p $(BUILD)/fuzz/corpus-emulate
	cd $(BUILD)/fuzz && ./fuzz_emulate -max_total_time=$(FUZZ_SECONDS) -max_len=1024 \
	  -print_final_stats=1 corpus-emulate
