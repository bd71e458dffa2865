/* SPDX-License-Identifier: MIT */
/*
 * CPU enumeration without ACPI.  OVMF under Bochs installs no ACPI tables
 * (there is no QEMU fw_cfg to get them from) but its MP services protocol
 * knows every CPU's APIC ID.  gnu-efi has no header for the protocol, so the
 * part we use is declared here from the UEFI PI specification (vol. 2, 13.4).
 */
#include "boot/loader.h"

#define EFI_MP_SERVICES_PROTOCOL_GUID \
	{ 0x3fdda605, 0xa76e, 0x4f46, { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } }

#define PROCESSOR_ENABLED_BIT	0x2

struct efi_processor_information {
	UINT64 ProcessorId;		/* the APIC ID */
	UINT32 StatusFlag;
	UINT32 Package, Core, Thread;
	UINT32 extended[24];		/* room for the PI 1.7 extended topology */
};

struct efi_mp_services {
	EFI_STATUS (EFIAPI *GetNumberOfProcessors)(struct efi_mp_services *This,
						   UINTN *total, UINTN *enabled);
	EFI_STATUS (EFIAPI *GetProcessorInfo)(struct efi_mp_services *This, UINTN n,
					      struct efi_processor_information *info);
	/* StartupAllAPs, StartupThisAP, SwitchBSP, EnableDisableAP, WhoAmI: unused. */
};

EFI_STATUS loader_cpus_from_mp(struct boot_info *bi)
{
	EFI_GUID guid = EFI_MP_SERVICES_PROTOCOL_GUID;
	struct efi_mp_services *mp;
	UINTN total, enabled;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->LocateProtocol, 3, &guid, NULL, (void **)&mp);
	if (EFI_ERROR(st))
		return st;
	st = uefi_call_wrapper(mp->GetNumberOfProcessors, 3, mp, &total, &enabled);
	if (EFI_ERROR(st))
		return st;
	bi->acpi.ncpus = 0;
	for (UINTN i = 0; i < total; i++) {
		struct efi_processor_information info;

		SetMem(&info, sizeof(info), 0);
		st = uefi_call_wrapper(mp->GetProcessorInfo, 3, mp, i, &info);
		if (EFI_ERROR(st))
			continue;
		if (!(info.StatusFlag & PROCESSOR_ENABLED_BIT)) {
			bi->acpi.cpus_disabled++;
			continue;
		}
		if (bi->acpi.ncpus == ACPI_MAX_CPUS) {
			bi->acpi.cpus_dropped++;
			continue;
		}
		bi->acpi.cpus[bi->acpi.ncpus].apic_id = (uint32_t)info.ProcessorId;
		bi->acpi.cpus[bi->acpi.ncpus].uid = (uint32_t)i;
		bi->acpi.ncpus++;
	}
	return bi->acpi.ncpus ? EFI_SUCCESS : EFI_NOT_FOUND;
}
