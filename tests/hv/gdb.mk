# The GDB stub's portable core (hv/gdb/): packet framing, the packets, the
# target description, guest-virtual memory; an ASan/UBSan twin of the stub
# test, a program Debian's GDB drives over a pipe (test_gdb_fake.py), and
# fuzz_stub in `make fuzz`.
GDB_CORE_SRC	:= hv/gdb/stub.c hv/gdb/rsp.c hv/gdb/target.c hv/lib/format.c
GDB_TEST_HDRS	:= $(wildcard tests/hv/gdb/*.h hv/gdb/*.h)

$(eval $(call host_test,hv/gdb/test_rsp,tests/hv/gdb/test_rsp.c hv/gdb/rsp.c))
$(eval $(call host_test,hv/gdb/test_stub,tests/hv/gdb/test_stub.c $(GDB_CORE_SRC)))
$(eval $(call host_test_asan,hv/gdb/test_stub,tests/hv/gdb/test_stub.c $(GDB_CORE_SRC)))
$(eval $(call host_test,hv/gdb/test_vmem,tests/hv/gdb/test_vmem.c hv/gdb/vmem.c hv/vmx/gva.c))

$(foreach t,test_rsp test_stub test_vmem,$(BUILD)/host/hv/gdb/$(t) $(BUILD)/cov/hv/gdb/$(t)) \
	$(BUILD)/host/hv/gdb/test_stub-asan: $(GDB_TEST_HDRS)

# Not a test by itself (it talks RSP on stdin/stdout): test_gdb_fake.py runs it under GDB.
$(BUILD)/host/hv/gdb/fake_gdb_target: tests/hv/gdb/fake_gdb_target.c $(GDB_CORE_SRC) \
		$(HOSTED_SRC) $(HDRS) $(GDB_TEST_HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -o $@ tests/hv/gdb/fake_gdb_target.c $(GDB_CORE_SRC) $(HOSTED_SRC)
host-tests: $(BUILD)/host/hv/gdb/fake_gdb_target
SCRIPT_TESTS += tests/hv/gdb/test_gdb_fake.py

$(BUILD)/fuzz/fuzz_stub: tests/hv/gdb/fuzz_stub.c $(GDB_CORE_SRC) $(GDB_TEST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/hv/gdb/fuzz_stub.c $(GDB_CORE_SRC)

.PHONY: fuzz-stub
fuzz: fuzz-stub
fuzz-stub: $(BUILD)/fuzz/fuzz_stub
	@mkdir -p $(BUILD)/fuzz/corpus-stub
	cd $(BUILD)/fuzz && ./fuzz_stub -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -print_final_stats=1 corpus-stub
