# The MMIO instruction decoder (hv/insn_decode.c).
$(eval $(call host_test,hv/test_insn_decode,tests/hv/test_insn_decode.c hv/insn_decode.c))
