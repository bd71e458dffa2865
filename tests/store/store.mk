# The store of evicted pages (store/zstore.c) and its compressor (store/lz.c):
# unit tests, their ASan/UBSan twins, a TSan twin of the threaded store test;
# `make fuzz` (libFuzzer, FUZZ_SECONDS each) and `make bench-store` are extra.
ZSTORE_SRC	:= store/zstore.c store/lz.c
$(eval $(call host_test,store/test_lz,tests/store/test_lz.c store/lz.c))
$(eval $(call host_test_asan,store/test_lz,tests/store/test_lz.c store/lz.c))
# The same block format as Debian's liblz4: each side reads the other's blocks.
$(eval $(call host_test,store/test_lz_vs_lz4,tests/store/test_lz_vs_lz4.c store/lz.c -llz4))
$(eval $(call host_test,store/test_zstore,tests/store/test_zstore.c $(ZSTORE_SRC)))
$(eval $(call host_test_asan,store/test_zstore,tests/store/test_zstore.c $(ZSTORE_SRC)))
$(eval $(call host_test,store/test_zstore_threads,tests/store/test_zstore_threads.c $(ZSTORE_SRC)))
$(eval $(call host_test_tsan,store/test_zstore_threads,tests/store/test_zstore_threads.c $(ZSTORE_SRC)))

# ---- make fuzz: libFuzzer, each target FUZZ_SECONDS, corpora kept in build/fuzz/ ----
FUZZ_SECONDS	?= 60
FUZZ_CC		?= clang-14
FUZZ_CFLAGS	:= -std=gnu11 -g -O1 -I. -DHOSTED -DDEBUG -Wall -Wextra -Werror \
		   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(BUILD)/fuzz/fuzz_lz: tests/store/fuzz_lz.c store/lz.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/store/fuzz_lz.c store/lz.c
$(BUILD)/fuzz/fuzz_zstore: tests/store/fuzz_zstore.c $(ZSTORE_SRC) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/store/fuzz_zstore.c $(ZSTORE_SRC) $(HOSTED_SRC)

.PHONY: fuzz bench-store
fuzz: $(BUILD)/fuzz/fuzz_lz $(BUILD)/fuzz/fuzz_zstore
	@mkdir -p $(BUILD)/fuzz/corpus-lz $(BUILD)/fuzz/corpus-zstore
	cd $(BUILD)/fuzz && ./fuzz_lz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -print_final_stats=1 corpus-lz
	cd $(BUILD)/fuzz && ./fuzz_zstore -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -print_final_stats=1 corpus-zstore

# ---- make bench-store: one table; instructions per page from callgrind if present ----
$(BUILD)/bench/bench_zstore: tests/store/bench_zstore.c $(ZSTORE_SRC) $(HOSTED_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(filter-out -DDEBUG,$(HOST_CFLAGS)) -o $@ tests/store/bench_zstore.c \
	  $(ZSTORE_SRC) $(HOSTED_SRC) -llz4

# --instr K c N compresses N pages after 64 set-up compressions (L: LZ4's
# compressor); d decompresses N (D: LZ4's decompressor).
CG_COUNT	= valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=$(1) \
		  $(BUILD)/bench/bench_zstore --instr $$k $(2) 200 2>&1 | sed -n 's/.*Collected : //p'

bench-store: $(BUILD)/bench/bench_zstore
	@$<
	@if command -v valgrind >/dev/null; then \
	  printf "\ninstructions per 4 KiB page (callgrind):\n%-10s %10s %10s %10s %10s\n" \
	    page compress lz4 decompress lz4; \
	  k=0; for name in zero text random repeat sparse half-rand; do \
	    c=$$($(call CG_COUNT,lz_compress,c)); d=$$($(call CG_COUNT,lz_decompress,d)); \
	    lc=$$($(call CG_COUNT,LZ4_compress_default,L)); \
	    ld=$$($(call CG_COUNT,LZ4_decompress_safe,D)); \
	    printf "%-10s %10d %10d %10d %10d\n" $$name $$((c / 264)) $$((lc / 200)) \
	      $$((d / 200)) $$((ld / 200)); \
	    if [ $$name = text ]; then \
	      echo "figure lz_compress_text_instructions $$((c / 264))"; \
	      echo "figure lz4_compress_text_instructions $$((lc / 200))"; fi; \
	    k=$$((k + 1)); \
	  done; \
	else echo "(no valgrind: no instruction counts)"; fi

# A disk of blocks in the store (store/zdisk.c), what virtio-blk keeps.
$(eval $(call host_test,store/test_zdisk,tests/store/test_zdisk.c store/zdisk.c $(ZSTORE_SRC)))
$(eval $(call host_test_asan,store/test_zdisk,tests/store/test_zdisk.c store/zdisk.c $(ZSTORE_SRC)))
