# SPDX-License-Identifier: MIT
# The portable EPT MMU (ept/) on host threads: unit tests, the fault-vs-zap
# stress test (plain and ThreadSanitizer), `make soak` and `make bench-mmu`.
EPT_SRC := $(sort $(wildcard ept/*.c)) smp/grace.c
EPT_TESTS := test_fault test_iter test_root test_invalidate test_zap test_age

# The shared test environment is below the top-level HDRS wildcard.
EPT_TEST_HDRS := tests/ept/ept_env.h tests/ept/ept_check.h tests/ept/soft_tlb.h
$(foreach t,$(EPT_TESTS) stress_fault_vs_zap,\
  $(eval $(BUILD)/host/ept/$(t) $(BUILD)/host/ept/$(t)-tsan: $(EPT_TEST_HDRS)))

$(eval $(call host_test,ept/test_spte,tests/ept/test_spte.c))
$(eval $(call host_test,ept/test_fault,tests/ept/test_fault.c $(EPT_SRC)))
$(eval $(call host_test,ept/stress_fault_vs_zap,tests/ept/stress_fault_vs_zap.c $(EPT_SRC)))
$(eval $(call host_test_tsan,ept/stress_fault_vs_zap,tests/ept/stress_fault_vs_zap.c $(EPT_SRC)))
# TSan does not model fences (GCC warns); the happens-before edges it needs come
# from acquire/release accesses, the fences only order store-buffering pairs.
$(eval $(call host_test,ept/test_iter,tests/ept/test_iter.c $(EPT_SRC)))
$(eval $(call host_test,ept/test_root,tests/ept/test_root.c $(EPT_SRC)))
$(eval $(call host_test,ept/test_invalidate,tests/ept/test_invalidate.c $(EPT_SRC)))
$(eval $(call host_test,ept/test_zap,tests/ept/test_zap.c $(EPT_SRC)))
$(eval $(call host_test,ept/test_age,tests/ept/test_age.c $(EPT_SRC)))
# TSan twins of the unit tests that run threads.
$(foreach t,$(filter-out test_iter,$(EPT_TESTS)),\
  $(eval $(call host_test_tsan,ept/$(t),tests/ept/$(t).c $(EPT_SRC))))

# ---- not part of `make test` ----
BENCH_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -I. -DHOSTED
BENCH_SRC	:= tests/ept/bench_mmu.c $(EPT_SRC) $(HOSTED_SRC)

$(BUILD)/bench/ept/bench_mmu: $(BENCH_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(BENCH_CFLAGS) -o $@ $(BENCH_SRC)

$(BUILD)/bench/ept/bench_mmu_global: $(BENCH_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(BENCH_CFLAGS) -DEPT_BASELINE_GLOBAL_LOCK -o $@ $(BENCH_SRC)

# Fault-in throughput, zap cost and write-hold, metadata: see docs/ept.md.
.PHONY: bench-mmu
bench-mmu: $(BUILD)/bench/ept/bench_mmu $(BUILD)/bench/ept/bench_mmu_global
	@python3 tests/ept/bench_mmu.py $^

# The stress test for longer (default 5 minutes): make soak SOAK_SECONDS=N.
SOAK_SECONDS	?= 300
.PHONY: soak
soak: $(BUILD)/host/ept/stress_fault_vs_zap
	EPT_STRESS_SECONDS=$(SOAK_SECONDS) $<
