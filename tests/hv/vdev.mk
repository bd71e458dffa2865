# Emulated devices (hv/vdev/): the portable part of the PCI bus, a function's
# config space, BARs and MSI-X (hv/vdev/pci_cfg.c).
$(eval $(call host_test,hv/vdev/test_pci_cfg,tests/hv/vdev/test_pci_cfg.c hv/vdev/pci_cfg.c))
$(eval $(call host_test_asan,hv/vdev/test_pci_cfg,tests/hv/vdev/test_pci_cfg.c hv/vdev/pci_cfg.c))
