# SPDX-License-Identifier: MIT
# Grace periods (smp/grace.c) on real threads, plain and under ThreadSanitizer.
$(eval $(call host_test,smp/test_grace,tests/smp/test_grace.c smp/grace.c))
$(eval $(call host_test_tsan,smp/test_grace,tests/smp/test_grace.c smp/grace.c))
# TSan does not model fences (GCC warns); the happens-before edges it needs come
# from the acquire/release accesses, the fences only order the store-buffering pairs.
# The store-buffering pairs of grace periods on a simulated x86-TSO machine: the
# test includes smp/grace.c itself, with its accessors redefined.
$(eval $(call host_test,smp/test_grace_sb,tests/smp/test_grace_sb.c))
$(BUILD)/host/smp/test_grace_sb $(BUILD)/cov/smp/test_grace_sb: smp/grace.c
