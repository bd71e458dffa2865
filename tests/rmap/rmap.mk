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
