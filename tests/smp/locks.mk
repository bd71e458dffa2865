# Lock primitives of smp/: ticket spinlock and reader-writer lock, on real threads.
$(eval $(call host_test,smp/test_spinlock,tests/smp/test_spinlock.c))
$(eval $(call host_test_tsan,smp/test_spinlock,tests/smp/test_spinlock.c))
$(eval $(call host_test,smp/test_rwlock,tests/smp/test_rwlock.c))
$(eval $(call host_test_tsan,smp/test_rwlock,tests/smp/test_rwlock.c))
# The lock order (smp/lock_order.h) as the primitives check it.
$(eval $(call host_test,smp/test_lock_order,tests/smp/test_lock_order.c))
