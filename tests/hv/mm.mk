# SPDX-License-Identifier: MIT
# Guest memory (hv/mm/): EPT shootdowns on host threads with INVEPT and IPIs
# stubbed by tests/hv/mm/tlb_env.h, plain and under ThreadSanitizer.
MM_TEST_HDRS	:= tests/hv/mm/tlb_env.h
$(eval $(call host_test,hv/mm/test_tlb,tests/hv/mm/test_tlb.c hv/mm/tlb.c))
$(eval $(call host_test_tsan,hv/mm/test_tlb,tests/hv/mm/test_tlb.c hv/mm/tlb.c))
$(BUILD)/host/hv/mm/test_tlb $(BUILD)/host/hv/mm/test_tlb-tsan $(BUILD)/cov/hv/mm/test_tlb: \
  $(MM_TEST_HDRS)
# The store-buffering pair on a simulated x86-TSO machine: the test includes hv/mm/tlb.c.
$(eval $(call host_test,hv/mm/test_tlb_sb,tests/hv/mm/test_tlb_sb.c))
$(BUILD)/host/hv/mm/test_tlb_sb $(BUILD)/cov/hv/mm/test_tlb_sb: hv/mm/tlb.c $(MM_TEST_HDRS)
# hv/mm/gmem.c with tlb.c, the page allocator over a fake RAM region and the real MMU core.
GMEM_SRC	:= tests/hv/mm/test_gmem.c hv/mm/gmem.c hv/mm/tlb.c hv/cpu/page_alloc.c \
		   hv/lib/format.c $(sort $(wildcard ept/*.c)) rmap/memslot.c rmap/reclaim.c \
		   rmap/rmap.c rmap/age.c rmap/gen.c smp/grace.c store/zstore.c store/lz.c
$(eval $(call host_test,hv/mm/test_gmem,$(GMEM_SRC)))
$(eval $(call host_test_tsan,hv/mm/test_gmem,$(GMEM_SRC)))
$(BUILD)/host/hv/mm/test_gmem $(BUILD)/host/hv/mm/test_gmem-tsan $(BUILD)/cov/hv/mm/test_gmem: \
  $(MM_TEST_HDRS) tests/ept/soft_tlb.h
