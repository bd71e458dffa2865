/* SPDX-License-Identifier: MIT */
/*
 * Guests (struct vm) and their virtual CPUs (struct vcpu).  A vCPU is pinned
 * to one physical CPU and only that CPU touches its VMCS; the shell reads
 * VMCS fields through a cross-CPU call to it.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "ept/vm.h"
#include "hv/core/config.h"
#include "hv/core/guest_boot.h"
#include "hv/core/io.h"
#include "rmap/memslot.h"
#include "smp/spinlock.h"

#define VM_MAX		32
#define VCPU_MAX	8
#define EXIT_REASONS	70

enum vm_state { VM_EMPTY = 0, VM_STOPPED, VM_RUNNING, VM_EXITED, VM_FAILED };
enum vcpu_state { VCPU_IDLE = 0, VCPU_RUNNABLE, VCPU_HALTED, VCPU_DONE };

/* Saved by hv/vmx/vmx_entry.asm; RSP and RIP live in the VMCS. */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};

struct vm;
/* Device state hangs off the guest by pointer; each device's header says what is in it. */
struct vlapic;
struct vioapic;
struct vuart;
struct vplatform;
struct vcpu_debug;
struct vpci;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	unsigned int cpu;		/* the physical CPU it runs on */
	uint16_t vpid;
	int state;			/* enum vcpu_state; written by its CPU */
	/* VCPU_REQ_* bits (hv/core/request.h): any CPU sets, its own CPU clears. */
	unsigned long requests;
	bool launched;			/* VMLAUNCH done: VMRESUME next */
	bool loaded;			/* VMCS built on its CPU */
	uint64_t vmcs_pa;
	/* The EPT root it runs on (a reference) and its EPTP; its own CPU only. */
	struct ept_root *root;
	uint64_t eptp;
	struct guest_regs regs;
	uint64_t exits;
	/* FPU/SSE state across vCPU switches on one CPU (FXSAVE area). */
	uint8_t fx[512] __attribute__((aligned(16)));
	/* The syscall MSRs the guest owns while it runs (not in the VMCS). */
	uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs;
	uint64_t tsc_aux;
	uint64_t misc_enable, mtrr_def_type;	/* kept as written (hv/vmx/msr.c) */
	/* DR0-DR3 and DR6 while another vCPU has the CPU (DR7 is in the VMCS). */
	uint64_t dr[4], dr6;
	uint64_t tsc_offset;		/* guest TSC - host TSC (VMCS TSC_OFFSET) */
	uint64_t tsc_adjust;		/* IA32_TSC_ADJUST: what writes added to it */
	/* Interrupt state: the local APIC (hv/vdev/lapic.h) and what the scheduler waits on. */
	struct vlapic *lapic;
	bool halted;			/* in HLT; halt_if: it halted with IF=1 */
	bool halt_if;
	bool wait_sipi;			/* an AP before its SIPI; set by others (INIT) too */
	uint32_t nmi_queued;		/* NMIs posted by any CPU (atomic add); the owner folds them */
	uint8_t nmi_pending;		/* the owner's: NMIs still to inject, at most 2 */
	bool intr_window, nmi_window;	/* interrupt-/NMI-window exiting is on in the VMCS */
	/* APIC virtualization (hv/vmx/apicv.c); its own CPU only. */
	bool apicv;			/* on for this vCPU's VMCS */
	bool apic_access_on;		/* "virtualize APIC accesses" is set now */
	uint64_t eoi_exit[4];		/* the EOI-exit bitmap as last written */
	bool apicv_vid;			/* the CPU delivers the APIC's interrupts (not under Bochs) */
	uint8_t tpr_threshold;		/* without it: TPR_THRESHOLD as last written */
	/* The debugger's hold on it (hv/vmx/debug.h); NULL unless debugged since its start. */
	struct vcpu_debug *debug;
	/* Last exit, for `vcpu` and failure dumps. */
	uint32_t last_exit_reason;
	uint64_t last_exit_qual;
};

struct vm {
	int id;
	int state;			/* enum vm_state; protected by vm_lock */
	struct guest_config cfg;
	struct guest_boot boot;		/* set by the image loader at each start */
	struct vcpu vcpus[VCPU_MAX];
	/* Requests to the vCPUs' CPUs: stop running this guest now. */
	bool stop_request;
	int exit_status;		/* from the debug-exit port or the exit hypercall */
	char fail_reason[160];

	/* The page the EPT maps at the xAPIC base for APIC virtualization; 0: none yet. */
	uint64_t apic_access_pa;
	/*
	 * Set, never cleared while the guest runs, when a vCPU moved its xAPIC
	 * base, disabled its APIC or entered x2APIC mode: the page is unmapped
	 * and every vCPU emulates the xAPIC page from then on (hv/vmx/apicv.c).
	 */
	bool apic_page_off;

	/* Guest memory (hv/mm/gmem.c): set up while mem_ready. */
	bool mem_ready;
	struct ept_vm ept;
	struct memslot mem;

	/* Exit statistics, per basic exit reason. */
	uint64_t exit_count[EXIT_REASONS];
	uint64_t unknown_ports, unknown_msrs;
	uint64_t unknown_mmio;		/* accesses to unassigned guest-physical addresses */

	bool restart_request;		/* the guest asked for a reset: the shell restarts it */
	bool warm_start;		/* this start follows such a reset: CMOS RAM survives it */

	/* Emulated devices (hv/vdev/), attached by their units in vm_create(). */
	struct vioapic *ioapic;
	struct vuart *uart;
	struct vplatform *platform;
	struct vpci *pci;		/* NULL: no PCI (no virtio device) */
	/* The port and MMIO ranges they registered; set at vm_create(), read-only after. */
	struct vm_io io;

	uint64_t start_tsc;
	uint64_t bench_result[4];
};

/*
 * The guest table.  vm_lock serialises lifecycle changes (create, start,
 * stop, end) and vm->state; the rest of a guest belongs to its vCPUs'
 * CPUs while it runs and to the shell (CPU 0) while it does not.
 */
extern struct vm vms[VM_MAX];
extern spinlock_t vm_lock;

struct vm *vm_find(const char *name);
/* A new guest from its config, devices attached; its id, or -1 when the table is full. */
int vm_create(const struct guest_config *cfg);
const char *vm_state_name(int state);

#endif
