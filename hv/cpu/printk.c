/* SPDX-License-Identifier: MIT */
/*
 * printk formats into a stack buffer and writes it whole under the console
 * lock, so each call's output is contiguous: callers print a line per call.
 * Every message also goes into a ring the shell's `log` shows, whatever the
 * console level.
 */
#include "hv/cpu/console.h"
#include "hv/cpu/serial.h"
#include "hv/lib/format.h"
#include "hv/lib/x86.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/spinlock.h"

#define LOG_RING_SIZE	16384
#define CONSOLE_NOT_LOCKED	(1ULL << 63)	/* in the saved flags word */

int console_level = LOG_INFO;

/* Serialises the UART and the ring; taken with interrupts off. */
static spinlock_t console_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_CONSOLE);
static bool console_busted;
/* COM1 belongs to someone else (the GDB stub): messages go to the ring only. */
static bool console_muted;

/* Ring of (level byte, text, NUL) records; protected by console_lock. */
static char log_ring[LOG_RING_SIZE];
static size_t log_head;		/* total bytes ever written */

static uint64_t console_lock_irqsave(void)
{
	uint64_t flags = irq_save();

	if (READ_ONCE(console_busted)) {
		/* After a fault: a bounded wait, then write anyway, unlocked. */
		for (int i = 0; i < 1000000; i++) {
			if (spin_trylock(&console_lock))
				return flags;
			cpu_relax();
		}
		return flags | CONSOLE_NOT_LOCKED;
	}
	spin_lock(&console_lock);
	return flags;
}

static void console_unlock_irqrestore(uint64_t flags)
{
	if (!(flags & CONSOLE_NOT_LOCKED))
		spin_unlock(&console_lock);
	irq_restore(flags & ~CONSOLE_NOT_LOCKED);
}

void console_force_unlock(void)
{
	WRITE_ONCE(console_busted, true);
	/* A fault or a panic says so on the line, whoever has it. */
	WRITE_ONCE(console_muted, false);
}

void console_mute(bool mute)
{
	uint64_t flags = console_lock_irqsave();

	/* Under the lock: a message being written when the line changes hands ends first. */
	console_muted = mute;
	console_unlock_irqrestore(flags);
}

static void ring_put(int level, const char *s, size_t n)
{
	log_ring[log_head++ % LOG_RING_SIZE] = (char)('0' + level);
	for (size_t i = 0; i < n; i++)
		log_ring[log_head++ % LOG_RING_SIZE] = s[i];
	log_ring[log_head++ % LOG_RING_SIZE] = 0;
}

void console_write(const char *s, size_t n)
{
	uint64_t flags = console_lock_irqsave();

	if (!console_muted)
		serial_write(s, n);
	console_unlock_irqrestore(flags);
}

int vprintk(int level, const char *fmt, va_list ap)
{
	char buf[512];
	int n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	uint64_t flags = console_lock_irqsave();

	ring_put(level, buf, len);
	if (level <= console_level && !console_muted)
		serial_write(buf, len);
	console_unlock_irqrestore(flags);
	return n;
}

int printk(int level, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(level, fmt, ap);
	va_end(ap);
	return n;
}

void console_dump_log(int level)
{
	static char copy[LOG_RING_SIZE];
	size_t head, start, n;
	uint64_t flags = console_lock_irqsave();

	head = log_head;
	start = head > LOG_RING_SIZE ? head - LOG_RING_SIZE : 0;
	for (n = 0; start + n < head; n++)
		copy[n] = log_ring[(start + n) % LOG_RING_SIZE];
	console_unlock_irqrestore(flags);

	/* Skip the first, possibly overwritten, record. */
	size_t i = 0;
	if (start)
		while (i < n && copy[i++])
			;
	while (i < n) {
		int lvl = copy[i] - '0';
		size_t len = strnlen(copy + i + 1, n - i - 1);

		if (lvl <= level)
			console_write(copy + i + 1, len);
		i += len + 2;
	}
}
