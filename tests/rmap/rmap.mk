# Reverse map, lockless aging and generations (rmap/), hosted on real threads.
RMAP_SRC	:= rmap/rmap.c rmap/age.c rmap/gen.c
$(eval $(call host_test,rmap/test_rmap,tests/rmap/test_rmap.c $(RMAP_SRC)))
$(eval $(call host_test,rmap/test_age,tests/rmap/test_age.c $(RMAP_SRC)))
$(eval $(call host_test_tsan,rmap/test_age,tests/rmap/test_age.c $(RMAP_SRC)))
$(eval $(call host_test,rmap/test_gen,tests/rmap/test_gen.c $(RMAP_SRC)))
$(eval $(call host_test,rmap/stress_age_vs_zap,tests/rmap/stress_age_vs_zap.c $(RMAP_SRC)))
$(eval $(call host_test_tsan,rmap/stress_age_vs_zap,tests/rmap/stress_age_vs_zap.c $(RMAP_SRC)))

# `make bench-rmap`: aging scan rate, lockless against mmu_lock-held baselines
# and a plain read of the same entries (not part of `make test`; no -DDEBUG).
$(BUILD)/host/rmap/bench_rmap: tests/rmap/bench_rmap.c $(RMAP_SRC) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(filter-out -DDEBUG,$(HOST_CFLAGS)) -o $@ tests/rmap/bench_rmap.c $(RMAP_SRC) $(HOSTED_SRC)

.PHONY: bench-rmap
bench-rmap: $(BUILD)/host/rmap/bench_rmap
	@$<

# Faults on the same gfns through the EPT fault path with rmap hooks on one head per host page.
SAME_GFN_SRC	:= tests/rmap/stress_same_gfn.c $(RMAP_SRC) $(sort $(wildcard ept/*.c)) smp/grace.c
$(eval $(call host_test,rmap/stress_same_gfn,$(SAME_GFN_SRC)))
$(eval $(call host_test_tsan,rmap/stress_same_gfn,$(SAME_GFN_SRC)))
$(BUILD)/host/rmap/stress_same_gfn $(BUILD)/host/rmap/stress_same_gfn-tsan: tests/ept/ept_env.h \
  tests/ept/ept_check.h tests/ept/soft_tlb.h tests/rmap/desc_env.h

# Memslots and reclaim (rmap/memslot.c, rmap/reclaim.c) behind the real EPT MMU and store.
MS_SRC		:= rmap/memslot.c rmap/reclaim.c $(RMAP_SRC) $(sort $(wildcard ept/*.c)) \
		   smp/grace.c store/zstore.c store/lz.c
$(eval $(call host_test,rmap/test_memslot,tests/rmap/test_memslot.c $(MS_SRC)))
$(eval $(call host_test_tsan,rmap/test_memslot,tests/rmap/test_memslot.c $(MS_SRC)))
$(eval $(call host_test,rmap/stress_reclaim,tests/rmap/stress_reclaim.c $(MS_SRC)))
$(eval $(call host_test_tsan,rmap/stress_reclaim,tests/rmap/stress_reclaim.c $(MS_SRC)))
$(eval $(call host_test,rmap/test_reclaim,tests/rmap/test_reclaim.c $(MS_SRC)))
$(eval $(call host_test,rmap/test_bigslot,tests/rmap/test_bigslot.c $(MS_SRC)))
$(eval $(call host_test_tsan,rmap/test_bigslot,tests/rmap/test_bigslot.c $(MS_SRC)))
$(eval $(call host_test_tsan,rmap/test_reclaim,tests/rmap/test_reclaim.c $(MS_SRC)))

# The shared environment and page contents are below the top-level HDRS wildcard.
MS_HDRS		:= tests/rmap/ms_env.h tests/rmap/desc_env.h tests/store/zpages.h
$(foreach t,test_memslot test_reclaim stress_reclaim test_bigslot,\
  $(eval $(BUILD)/host/rmap/$(t) $(BUILD)/host/rmap/$(t)-tsan: $(MS_HDRS)))
$(BUILD)/host/rmap/stress_reclaim $(BUILD)/host/rmap/stress_reclaim-tsan: tests/ept/ept_check.h \
  tests/ept/soft_tlb.h

# `make bench-aging`: vCPUs touching memory under no / mmu_lock / lockless aging, aging
# pass cost, evict and refault cost, metadata per page (not part of `make test`; no -DDEBUG).
$(BUILD)/bench/rmap/bench_aging: tests/rmap/bench_aging.c $(MS_SRC) $(HOSTED_SRC) $(HDRS) $(MS_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(filter-out -DDEBUG,$(HOST_CFLAGS)) -o $@ tests/rmap/bench_aging.c $(MS_SRC) \
	  $(HOSTED_SRC) -llz4

# The same benchmark against the design before issue 14 (per-page generation lists under a
# per-memslot lock), taken from git at BENCH_V1_COMMIT: its figures are printed as baseline_*.
BENCH_V1_COMMIT	:= cf5f9e8
BENCH_V1_DIR	:= $(BUILD)/bench/v1
BENCH_V1_FILES	:= rmap/memslot.c rmap/memslot.h rmap/gen.c rmap/gen.h
$(BUILD)/bench/rmap/bench_aging_v1: tests/rmap/bench_aging.c $(MS_SRC) $(HOSTED_SRC) $(HDRS) \
  $(MS_HDRS)
	@mkdir -p $(dir $@) $(BENCH_V1_DIR)/rmap
	@for f in $(BENCH_V1_FILES); do git show $(BENCH_V1_COMMIT):$$f > $(BENCH_V1_DIR)/$$f || exit 1; done
	$(HOST_CC) -I$(BENCH_V1_DIR) -DBENCH_V1 $(filter-out -DDEBUG,$(HOST_CFLAGS)) -o $@ \
	  tests/rmap/bench_aging.c $(BENCH_V1_DIR)/rmap/memslot.c $(BENCH_V1_DIR)/rmap/gen.c \
	  $(filter-out rmap/memslot.c rmap/gen.c,$(MS_SRC)) $(HOSTED_SRC) -llz4

.PHONY: bench-aging
bench-aging: $(BUILD)/bench/rmap/bench_aging $(BUILD)/bench/rmap/bench_aging_v1
	@echo "== the design before issue 14 ($(BENCH_V1_COMMIT)), as the baseline"
	@$(BUILD)/bench/rmap/bench_aging_v1 | tee $(BUILD)/bench/rmap/bench_aging_v1.out
	@echo "== now"
	@$(BUILD)/bench/rmap/bench_aging
	@grep '^figure ' $(BUILD)/bench/rmap/bench_aging_v1.out

# The reclaim stress test for longer (default 5 minutes): make soak-reclaim SOAK_SECONDS=N.
SOAK_SECONDS	?= 300
.PHONY: soak-reclaim
soak-reclaim: $(BUILD)/host/rmap/stress_reclaim
	RECLAIM_STRESS_S=$(SOAK_SECONDS) $<
