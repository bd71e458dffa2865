# Every plain host test once more under Valgrind's memcheck: uninitialised
# reads, bad accesses and definite leaks fail (tests/host/memcheck.py).
SCRIPT_TESTS += tests/host/memcheck.py

.PHONY: memcheck
memcheck: host-tests
	@python3 tests/host/memcheck.py
