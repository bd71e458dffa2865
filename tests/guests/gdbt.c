/* SPDX-License-Identifier: MIT */
/*
 * gdbt: the guest Debian's GDB debugs in tests/boot/test_bochs_gdb.py, an
 * ELF64 with symbols (tests/guests/gdb.mk).  vCPU 0 counts in main() and
 * prints each count through the console hypercall from tick(); vCPU 1
 * spins on a counter of its own, so GDB sees two threads with frames.
 * It starts in long mode as any ELF64 guest (docs/hypercalls.md): paging
 * on, RSP near the top of memory, RDI = the vCPU's index.
 */
#define HC_CONSOLE_WRITE	1
#define DELAY			200000

volatile unsigned long counter;
volatile unsigned long spins;
const char greeting[] = "gdbt: hello, debugger\n";

static void hc_write(const char *s, unsigned long n)
{
	unsigned long ret;

	__asm__ __volatile__("vmcall" : "=a"(ret) : "a"(HC_CONSOLE_WRITE), "D"(s), "S"(n)
			     : "memory");
}

/* "count N\n" into @buf; its length. */
static unsigned long format_count(char *buf, unsigned long n)
{
	char digits[24];
	unsigned long len = 0, k = 0;

	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	for (const char *p = "count "; *p; p++)
		buf[len++] = *p;
	while (k)
		buf[len++] = digits[--k];
	buf[len++] = '\n';
	return len;
}

/* One count printed: where the test puts its breakpoints. */
__attribute__((noinline)) void tick(unsigned long n)
{
	char line[32];

	hc_write(line, format_count(line, n));
}

static void delay(void)
{
	for (volatile unsigned long i = 0; i < DELAY; i++)
		__asm__ __volatile__("pause");
}

__attribute__((noreturn)) static void spin(void)
{
	for (;;) {
		spins++;
		__asm__ __volatile__("pause");
	}
}

int main(unsigned long vcpu)
{
	if (vcpu)
		spin();
	hc_write(greeting, sizeof(greeting) - 1);
	for (;;) {
		counter++;
		tick(counter);
		delay();
	}
}

/* The entry: the stack as the ABI wants it at a call, then main(RDI). */
__asm__(".globl _start\n"
	"_start:\n"
	"	and $-16, %rsp\n"
	"	call main\n"
	"1:	hlt\n"
	"	jmp 1b\n");
