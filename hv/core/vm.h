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
#include "hv/mm/gmem.h"
#include "hv/core/guest_boot.h"
#include "hv/vdev/lapic.h"
#include "hv/lib/x86.h"
#include "rmap/memslot.h"
#include "smp/spinlock.h"

#define VM_MAX		32
#define VCPU_MAX	8
#define EXIT_REASONS	70
#define UART_RX_SIZE	256

enum vm_state { VM_EMPTY = 0, VM_STOPPED, VM_RUNNING, VM_EXITED, VM_FAILED };
enum vcpu_state { VCPU_IDLE = 0, VCPU_RUNNABLE, VCPU_HALTED, VCPU_DONE };

/* Saved by hv/vmx_entry.asm; RSP and RIP live in the VMCS. */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	unsigned int cpu;		/* the physical CPU it runs on */
	uint16_t vpid;
	int state;			/* enum vcpu_state; written by its CPU */
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
	uint64_t misc_enable, mtrr_def_type;	/* kept as written (hv/msr.c) */
	uint64_t tsc_offset;		/* guest TSC - host TSC (VMCS TSC_OFFSET) */
	uint64_t tsc_adjust;		/* IA32_TSC_ADJUST: what writes added to it */
	/* Interrupt state: the local APIC and what the scheduler waits on. */
	struct vlapic lapic;
	bool halted;			/* in HLT; halt_if: it halted with IF=1 */
	bool halt_if;
	bool wait_sipi;			/* an AP before its SIPI; set by others (INIT) too */
	bool nmi_pending;		/* any CPU sets, the owner injects */
	bool intr_window;		/* interrupt-window exiting is on in the VMCS */
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

	/* Guest memory (hv/gmem.c): set up while mem_ready. */
	bool mem_ready;
	struct ept_vm ept;
	struct memslot mem;

	/* Exit statistics, per basic exit reason. */
	uint64_t exit_count[EXIT_REASONS];
	uint64_t unknown_ports, unknown_msrs;

	struct vioapic ioapic;
	/* Platform ports (hv/platform.c): the guest serialises them (rtc_lock) as on hardware. */
	uint8_t cmos_index;
	uint8_t cmos_ram[128];
	uint16_t pm1_cnt, pm1_en, pm1_sts;
	bool restart_request;		/* the guest asked for a reset: the shell restarts it */

	/* The emulated 16550: TX line buffer and RX FIFO fed by `console NAME`. */
	spinlock_t uart_lock;
	char tx_line[160];
	unsigned int tx_len;
	uint8_t rx[UART_RX_SIZE];
	unsigned int rx_head, rx_tail;
	uint8_t uart_ier, uart_lcr, uart_mcr, uart_scr, uart_dll, uart_dlm, uart_fcr;
	bool uart_thre_pending;		/* THR-empty interrupt not yet acknowledged */
	bool uart_irq_line;		/* the level on IRQ 4 */

	uint64_t start_tsc;
	uint64_t bench_result[4];
};

extern struct vm vms[VM_MAX];
extern spinlock_t vm_lock;

struct vm *vm_find(const char *name);
int vm_create(const struct guest_config *cfg);
int vm_start(struct vm *vm);
int vm_stop(struct vm *vm, const char *why);
/* Stop a guest for a reason, with a dump: the hypervisor and other guests go on. */
void guest_fail(struct vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void guest_exit(struct vcpu *v, int status);
/* ACPI S5 from the guest: it ends with status 0.  A reset: the shell restarts it. */
void vm_guest_poweroff(struct vcpu *v);
void vm_guest_reset(struct vcpu *v, const char *how);
/* Ports of hv/platform.c: 0 handled, 1 handled and the guest ended, -1 not ours. */
int platform_io(struct vcpu *v, uint16_t port, bool in, uint32_t *val);
/* The same for failures outside a VM exit (no VMCS to dump). */
void vm_fail_nodump(struct vm *vm, const char *reason);
void vm_reap_all(void);
/* Create and autostart the guests of hv.cfg (hv/guests_boot.c). */
void guests_boot(void);
const char *vm_state_name(int state);

/* Guest images (hv/guest_load.c). */
int guest_load_image(struct vm *vm, char *err, unsigned int errlen);

/* VMX (hv/vcpu.c, hv/exit.c). */
int vcpu_setup(struct vcpu *v, char *err, unsigned int errlen);
void vcpu_run_slice(struct vcpu *v);
int vmx_exit_dispatch(struct vcpu *v, uint32_t reason);
/* Advance RIP past the exiting instruction; it ends any STI/MOV-SS shadow. */
void vcpu_skip(uint64_t len);
/* Skip the instruction that exited (its length from the VMCS). */
void vcpu_skip_instruction(void);
uint64_t vcpu_gpr(struct vcpu *v, unsigned int n);
void vcpu_set_gpr(struct vcpu *v, unsigned int n, uint64_t val);
uint64_t vcpu_guest_cr0(void);	/* of the loaded VMCS, as the guest reads them */
uint64_t vcpu_guest_cr4(void);
void vcpu_inject_exception(struct vcpu *v, unsigned int vector, bool has_code, uint32_t code);
void vcpu_dump(struct vcpu *v);
const char *vmx_exit_name(uint32_t reason);
void vmx_explain_entry_failure(struct vcpu *v, uint32_t basic);
int exit_rdmsr(struct vcpu *v);
void cpuid_init(void);
void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_regs *r);
bool vcpu_has_rdtscp(void);
bool vcpu_has_invpcid(void);
/* Set v's registers for a start at a SIPI vector (real mode, CS = vector << 8). */
void vcpu_reset_sipi(struct vcpu *v, int vector);
int exit_wrmsr(struct vcpu *v);
int vmx_global_init(char *err, unsigned int n);
const char *vmx_insn_error_name(uint32_t err);

/* The guest's UART and console attachment (hv/uart.c). */
void uart_io(struct vcpu *v, uint16_t port, bool in, uint32_t *val);
void uart_console_input(struct vm *vm, uint8_t c);
void uart_attach(struct vm *vm);
void uart_flush(struct vm *vm);

/* Per-CPU scheduling of vCPUs (hv/sched.c). */
void sched_add(struct vcpu *v);
void sched_cpu_loop(void);
void sched_kick(unsigned int cpu);
void sched_init(void);

#endif
