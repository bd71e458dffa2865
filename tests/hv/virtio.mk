# Virtio devices (hv/virtio/): the split virtqueue parser with valid,
# malicious and edge-case rings, its ASan/UBSan twin, and fuzz_virtq in
# `make fuzz` (FUZZ_* are set in tests/store/store.mk, read later).
VIRTQ_HDRS	:= hv/virtio/virtq.h tests/hv/virtio/virtq_ring.h
$(eval $(call host_test,hv/virtio/test_virtq,tests/hv/virtio/test_virtq.c hv/virtio/virtq.c))
$(eval $(call host_test_asan,hv/virtio/test_virtq,tests/hv/virtio/test_virtq.c hv/virtio/virtq.c))
$(BUILD)/host/hv/virtio/test_virtq $(BUILD)/host/hv/virtio/test_virtq-asan \
	$(BUILD)/cov/hv/virtio/test_virtq: $(VIRTQ_HDRS)

$(BUILD)/fuzz/fuzz_virtq: tests/hv/virtio/fuzz_virtq.c hv/virtio/virtq.c $(VIRTQ_HDRS) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/hv/virtio/fuzz_virtq.c hv/virtio/virtq.c

.PHONY: fuzz-virtq
fuzz: fuzz-virtq
fuzz-virtq: $(BUILD)/fuzz/fuzz_virtq
	@mkdir -p $(BUILD)/fuzz/corpus-virtq
	cd $(BUILD)/fuzz && ./fuzz_virtq -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -print_final_stats=1 corpus-virtq

# The learning switch between guests' virtio-net ports.
$(eval $(call host_test,hv/virtio/test_netswitch,tests/hv/virtio/test_netswitch.c hv/virtio/netswitch.c))
$(eval $(call host_test_asan,hv/virtio/test_netswitch,tests/hv/virtio/test_netswitch.c hv/virtio/netswitch.c))
