# The physical page allocator (hv/page_alloc.c) on fake physical addresses, threads included.
$(eval $(call host_test,hv/test_page_alloc,tests/hv/test_page_alloc.c hv/page_alloc.c))
$(eval $(call host_test_tsan,hv/test_page_alloc,tests/hv/test_page_alloc.c hv/page_alloc.c))
