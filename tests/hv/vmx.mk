# The MMIO instruction decoder (hv/vmx/insn_decode.c).
$(eval $(call host_test,hv/vmx/test_insn_decode,tests/hv/vmx/test_insn_decode.c hv/vmx/insn_decode.c))
