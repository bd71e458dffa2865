# The physical page allocator (hv/cpu/page_alloc.c) on fake physical addresses, threads included.
$(eval $(call host_test,hv/cpu/test_page_alloc,tests/hv/cpu/test_page_alloc.c hv/cpu/page_alloc.c))
$(eval $(call host_test_tsan,hv/cpu/test_page_alloc,tests/hv/cpu/test_page_alloc.c hv/cpu/page_alloc.c))
