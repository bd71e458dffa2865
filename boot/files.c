/* SPDX-License-Identifier: MIT */
/*
 * Files for the hypervisor: hv.cfg and whatever it names, read from the
 * volume we were loaded from or, after a PXE boot, from the TFTP server that
 * gave us our image.  The loader does not interpret hv.cfg beyond finding
 * file names in it (keys image, initrd, module, disk); the monolith parses it.
 */
#include "boot/loader.h"

static EFI_FILE_HANDLE root_dir;
static EFI_PXE_BASE_CODE_PROTOCOL *pxe;
static EFI_IP_ADDRESS tftp_server;

void *loader_alloc_pages(UINTN npages, EFI_ALLOCATE_TYPE type, EFI_PHYSICAL_ADDRESS max)
{
	EFI_PHYSICAL_ADDRESS pa = max;

	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePages, 4, type, EfiLoaderData, npages, &pa)))
		return NULL;
	return (void *)(uintptr_t)pa;
}

static EFI_STATUS read_from_volume(const char *name, void **buf, UINTN *size)
{
	static const CHAR16 *dirs[] = { L"\\EFI\\BOOT\\", L"\\" };
	CHAR16 path[160];
	EFI_FILE_HANDLE f = NULL;
	EFI_FILE_INFO *info;
	EFI_STATUS st = EFI_NOT_FOUND;

	for (UINTN d = 0; d < 2 && !f; d++) {
		UINTN n = 0;

		for (const CHAR16 *p = dirs[d]; *p; p++)
			path[n++] = *p;
		for (const char *p = name; *p && n < 158; p++)
			path[n++] = *p == '/' ? L'\\' : (CHAR16)*p;
		path[n] = 0;
		st = uefi_call_wrapper(root_dir->Open, 5, root_dir, &f, path, EFI_FILE_MODE_READ, 0);
		if (EFI_ERROR(st))
			f = NULL;
	}
	if (!f)
		return st;
	info = LibFileInfo(f);
	if (!info) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_DEVICE_ERROR;
	}
	*size = info->FileSize;
	FreePool(info);
	*buf = loader_alloc_pages(EFI_SIZE_TO_PAGES(*size + 1), AllocateAnyPages, 0);
	if (!*buf) {
		uefi_call_wrapper(f->Close, 1, f);
		return EFI_OUT_OF_RESOURCES;
	}
	st = uefi_call_wrapper(f->Read, 3, f, size, *buf);
	uefi_call_wrapper(f->Close, 1, f);
	return st;
}

static EFI_STATUS read_from_tftp(const char *name, void **buf, UINTN *size)
{
	UINT64 sz = 0;
	EFI_STATUS st;

	st = uefi_call_wrapper(pxe->Mtftp, 10, pxe, EFI_PXE_BASE_CODE_TFTP_GET_FILE_SIZE, NULL,
			       FALSE, &sz, NULL, &tftp_server, (UINT8 *)name, NULL, FALSE);
	if (EFI_ERROR(st))
		return st;
	*buf = loader_alloc_pages(EFI_SIZE_TO_PAGES(sz + 1), AllocateAnyPages, 0);
	if (!*buf)
		return EFI_OUT_OF_RESOURCES;
	st = uefi_call_wrapper(pxe->Mtftp, 10, pxe, EFI_PXE_BASE_CODE_TFTP_READ_FILE, *buf,
			       FALSE, &sz, NULL, &tftp_server, (UINT8 *)name, NULL, FALSE);
	*size = sz;
	return st;
}

EFI_STATUS loader_read_file(const char *name, void **buf, UINTN *size)
{
	if (pxe)
		return read_from_tftp(name, buf, size);
	if (root_dir)
		return read_from_volume(name, buf, size);
	return EFI_NOT_READY;
}

static void str_copy(char *dst, const char *src, UINTN n)
{
	UINTN i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static void str_append(char *dst, UINTN n, const char *src)
{
	UINTN i = 0;

	while (i < n && dst[i])
		i++;
	str_copy(dst + i, src, n - i);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* "image = name" style lines whose key names a file; returns the value in out. */
static bool file_key(const char *line, UINTN len, char *out, UINTN outlen)
{
	static const char *keys[] = { "image", "initrd", "module", "disk" };
	UINTN i = 0, k;

	while (i < len && is_space(line[i]))
		i++;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		UINTN kl = strlena((const CHAR8 *)keys[k]);

		if (i + kl <= len && !CompareMem(line + i, keys[k], kl) &&
		    (i + kl == len || is_space(line[i + kl]) || line[i + kl] == '='))
			break;
	}
	if (k == sizeof(keys) / sizeof(keys[0]))
		return false;
	while (i < len && line[i] != '=')
		i++;
	if (i++ >= len)
		return false;
	while (i < len && is_space(line[i]))
		i++;
	UINTN n = 0;
	while (i < len && !is_space(line[i]) && line[i] != '#' && n + 1 < outlen)
		out[n++] = line[i++];
	out[n] = 0;
	return n > 0;
}

static void add_module(struct boot_info *bi, const char *name, void *buf, UINTN size)
{
	struct boot_module *m;

	if (bi->nmodules >= BOOTINFO_MAX_MODULES) {
		Print(L"[boot] too many files; %a not passed on\r\n", name);
		str_append(bi->module_errors, sizeof(bi->module_errors), name);
		str_append(bi->module_errors, sizeof(bi->module_errors), "(too many files) ");
		return;
	}
	m = &bi->modules[bi->nmodules++];
	str_copy(m->name, name, sizeof(m->name));
	m->pa = (uint64_t)(uintptr_t)buf;
	m->size = size;
}

static void load_named_files(struct boot_info *bi, const char *cfg, UINTN len)
{
	UINTN start = 0;

	for (UINTN i = 0; i <= len; i++) {
		char name[64];
		void *buf;
		UINTN size;
		EFI_STATUS st;

		if (i < len && cfg[i] != '\n')
			continue;
		if (file_key(cfg + start, i - start, name, sizeof(name))) {
			bool dup = false;

			for (UINT32 m = 0; m < bi->nmodules; m++)
				dup |= !strcmpa((CHAR8 *)bi->modules[m].name, (CHAR8 *)name);
			if (!dup) {
				st = loader_read_file(name, &buf, &size);
				if (EFI_ERROR(st)) {
					Print(L"[boot] cannot read %a: %r\r\n", name, st);
					str_append(bi->module_errors, sizeof(bi->module_errors), name);
					str_append(bi->module_errors, sizeof(bi->module_errors), " ");
				} else {
					add_module(bi, name, buf, size);
					Print(L"[boot] read %a (%ld bytes)\r\n", name, size);
				}
			}
		}
		start = i + 1;
	}
}

EFI_STATUS loader_files_init(EFI_HANDLE image, struct boot_info *bi)
{
	EFI_GUID pxe_guid = EFI_PXE_BASE_CODE_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li;
	void *cfg;
	UINTN size;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return st;
	st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle, &pxe_guid, (void **)&pxe);
	if (!EFI_ERROR(st) && pxe->Mode && pxe->Mode->Started) {
		EFI_PXE_BASE_CODE_PACKET *p = pxe->Mode->ProxyOfferReceived ?
			&pxe->Mode->ProxyOffer : &pxe->Mode->DhcpAck;

		CopyMem(&tftp_server, p->Dhcpv4.BootpSiAddr, 4);
		str_copy(bi->source, "pxe", sizeof(bi->source));
		Print(L"[boot] booted over PXE; TFTP server %d.%d.%d.%d\r\n",
		      tftp_server.v4.Addr[0], tftp_server.v4.Addr[1],
		      tftp_server.v4.Addr[2], tftp_server.v4.Addr[3]);
	} else {
		pxe = NULL;
		root_dir = LibOpenRoot(li->DeviceHandle);
		if (!root_dir)
			return EFI_NOT_FOUND;
		str_copy(bi->source, "disk", sizeof(bi->source));
	}
	st = loader_read_file("hv.cfg", &cfg, &size);
	if (EFI_ERROR(st))
		return st;
	((char *)cfg)[size] = 0;
	add_module(bi, "hv.cfg", cfg, size);
	Print(L"[boot] read hv.cfg (%ld bytes) from %a\r\n", size, bi->source);
	load_named_files(bi, cfg, size);
	return EFI_SUCCESS;
}
