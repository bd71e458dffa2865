/* SPDX-License-Identifier: MIT */
/*
 * The packets of the stub (GDB manual, "Remote Protocol").  Every packet gets
 * an answer while the target is stopped: a result, an error (Exx) or the
 * empty reply for what is not supported.  While it runs, GDB only sends
 * Ctrl-C; anything else is acknowledged and dropped.  Numbers from the line
 * are checked for overflow and every length against the buffers, so garbage
 * costs an error reply and nothing else.
 */
#include <stdarg.h>

#include "hv/gdb/stub.h"
#include "hv/lib/format.h"
#include "hv/lib/parse.h"
#include "lib/string.h"

#define E_INVAL		"E16"	/* malformed arguments (EINVAL is 22 = 0x16) */
#define E_FAULT		"E14"	/* no memory at that address (EFAULT) */
#define E_NOENT		"E02"	/* no such thread or breakpoint */
#define E_NOMEM		"E0c"	/* no room for another breakpoint */
#define E_IO		"E05"	/* the target refused (registers that cannot change) */

static const char hexdig[] = "0123456789abcdef";

/* A hex number of 1..16 digits at *p; *p moves past it. */
static bool parse_hex(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0, d;

	while ((d = hex_digit(**p)) >= 0) {
		if (++n > 16)
			return false;
		v = v << 4 | (uint64_t)d;
		(*p)++;
	}
	*out = v;
	return n > 0;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* "ADDR,LEN" */
static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
	return parse_hex(p, addr) && expect(p, ',') && parse_hex(p, len);
}

/* A thread id: "-1" (all), "0" (any) or a number; "pPID.TID" is taken too. */
static bool parse_tid(const char **p, int64_t *tid)
{
	uint64_t v;

	if (**p == 'p') {
		(*p)++;
		if (!parse_hex(p, &v) || !expect(p, '.'))
			return false;
	}
	if ((*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*tid = -1;
		return true;
	}
	if (!parse_hex(p, &v) || v > 0xffff)
		return false;
	*tid = (int64_t)v;
	return true;
}

static size_t to_hex(char *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	return 2 * n;
}

/* Exactly @n bytes from 2n hex digits; false on anything else. */
static bool from_hex(uint8_t *out, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(in[2 * i]), lo = hi < 0 ? -1 : hex_digit(in[2 * i + 1]);

		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void send_raw(struct gdb_stub *s, const char *buf, size_t n)
{
	s->ops->put(s->ctx, buf, n);
}

static void send_packet(struct gdb_stub *s, const char *body, size_t n)
{
	s->out_len = gdb_rsp_frame(s->out, sizeof(s->out), body, n);
	send_raw(s, s->out, s->out_len);
}

static void reply(struct gdb_stub *s, const char *body)
{
	send_packet(s, body, strlen(body));
}

static void reply_fmt(struct gdb_stub *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_fmt(struct gdb_stub *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hv_vsnprintf(s->reply, sizeof(s->reply), fmt, ap);
	va_end(ap);
	reply(s, s->reply);
}

void gdb_stub_init(struct gdb_stub *s, const struct gdb_ops *ops, void *ctx,
		   enum gdb_arch arch, unsigned int nthreads)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->arch = arch;
	s->nthreads = nthreads < 1 ? 1 : nthreads > GDB_MAX_THREADS ? GDB_MAX_THREADS : nthreads;
	s->g_thread = 1;
	s->last_stop = (struct gdb_stop){ .kind = GDB_STOP_TRAP, .tid = 1 };
	gdb_rsp_init(&s->rsp);
	s->xml_len = gdb_target_xml(arch, s->xml, sizeof(s->xml));
	if (s->xml_len > sizeof(s->xml))
		s->xml_len = 0;		/* cannot happen with the tables as they are */
}

static bool valid_tid(const struct gdb_stub *s, int64_t tid)
{
	return tid >= 1 && tid <= (int64_t)s->nthreads;
}

static void send_stop(struct gdb_stub *s, const struct gdb_stop *st)
{
	unsigned int tid = st->tid;
	bool reason = s->gdb_swbreak;

	switch (st->kind) {
	case GDB_STOP_EXITED:
		reply_fmt(s, "W%02x", (unsigned int)st->status & 0xff);
		return;
	case GDB_STOP_KILLED:
		reply(s, "X09");
		return;
	case GDB_STOP_INTERRUPT:
		reply_fmt(s, "T02thread:%x;", tid);
		return;
	case GDB_STOP_SWBREAK:
		reply_fmt(s, "T05thread:%x;%s", tid, reason ? "swbreak:;" : "");
		return;
	case GDB_STOP_HWBREAK:
		reply_fmt(s, "T05thread:%x;%s", tid, reason ? "hwbreak:;" : "");
		return;
	case GDB_STOP_WATCH:
	case GDB_STOP_AWATCH:
		reply_fmt(s, "T05thread:%x;%s:%llx;", tid,
			  st->kind == GDB_STOP_WATCH ? "watch" : "awatch",
			  (unsigned long long)st->addr);
		return;
	case GDB_STOP_TRAP:
	default:
		reply_fmt(s, "T05thread:%x;", tid);
	}
}

static void reply_supported(struct gdb_stub *s);

void gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *stop)
{
	s->running = false;
	s->last_stop = *stop;
	if (!valid_tid(s, s->last_stop.tid))
		s->last_stop.tid = 1;
	s->g_thread = s->last_stop.tid;
	if (s->new_gdb && stop->kind != GDB_STOP_EXITED && stop->kind != GDB_STOP_KILLED) {
		/* The new GDB waits for its qSupported answer; `?` tells it the stop, as at attach. */
		if (s->last_stop.kind == GDB_STOP_INTERRUPT)
			s->last_stop.kind = GDB_STOP_TRAP;
		s->new_gdb = false;
		reply_supported(s);
		return;
	}
	s->new_gdb = false;
	send_stop(s, &s->last_stop);
	if (stop->kind == GDB_STOP_EXITED || stop->kind == GDB_STOP_KILLED) {
		/* The guest is gone: its memory with it, so there is nothing to put back. */
		for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS; i++)
			s->sw[i].used = false;
		s->done = true;
	}
}

/* ---- memory, with the stub's INT3s hidden ---- */

static struct gdb_sw_break *find_sw(struct gdb_stub *s, uint64_t addr)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS; i++)
		if (s->sw[i].used && s->sw[i].addr == addr)
			return &s->sw[i];
	return NULL;
}

bool gdb_stub_has_sw_break(const struct gdb_stub *s, uint64_t addr)
{
	return find_sw((struct gdb_stub *)s, addr) != NULL;
}

/* The breakpoints within [addr, addr + n): GDB sees the original bytes there. */
static void shadow_read(struct gdb_stub *s, uint64_t addr, uint8_t *buf, size_t n)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS; i++) {
		uint64_t off = s->sw[i].addr - addr;

		if (s->sw[i].used && off < n)
			buf[off] = s->sw[i].orig;
	}
}

/* A write over a breakpoint changes the byte put back at removal; the INT3 stays. */
static void shadow_write(struct gdb_stub *s, uint64_t addr, uint8_t *buf, size_t n)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS; i++) {
		uint64_t off = s->sw[i].addr - addr;

		if (s->sw[i].used && off < n) {
			s->sw[i].orig = buf[off];
			buf[off] = 0xcc;
		}
	}
}

static void cmd_read_mem(struct gdb_stub *s, const char *p)
{
	uint64_t addr, len;
	size_t done;

	if (!parse_addr_len(&p, &addr, &len) || *p) {
		reply(s, E_INVAL);
		return;
	}
	if (len > GDB_PACKET_MAX / 2)
		len = GDB_PACKET_MAX / 2;	/* a short read: GDB asks for the rest */
	done = len ? s->ops->read_mem(s->ctx, s->g_thread, addr, s->mem, len) : 0;
	if (len && !done) {
		reply(s, E_FAULT);
		return;
	}
	shadow_read(s, addr, s->mem, done);
	send_packet(s, s->reply, to_hex(s->reply, s->mem, done));
}

static void write_mem(struct gdb_stub *s, uint64_t addr, size_t len)
{
	shadow_write(s, addr, s->mem, len);
	if (len && s->ops->write_mem(s->ctx, s->g_thread, addr, s->mem, len) != len)
		reply(s, E_FAULT);
	else
		reply(s, "OK");
}

/* M addr,len:hex */
static void cmd_write_mem_hex(struct gdb_stub *s, const char *p)
{
	uint64_t addr, len;

	if (!parse_addr_len(&p, &addr, &len) || !expect(&p, ':') || len > sizeof(s->mem) ||
	    strlen(p) != 2 * len || !from_hex(s->mem, p, len)) {
		reply(s, E_INVAL);
		return;
	}
	write_mem(s, addr, len);
}

/* X addr,len:binary (the framing undid the escapes) */
static void cmd_write_mem_bin(struct gdb_stub *s, const char *pkt, size_t n)
{
	const char *p = pkt + 1;
	uint64_t addr, len;
	size_t off;

	if (!parse_addr_len(&p, &addr, &len) || !expect(&p, ':')) {
		reply(s, E_INVAL);
		return;
	}
	off = (size_t)(p - pkt);
	if (len > sizeof(s->mem) || n - off != len) {
		reply(s, E_INVAL);
		return;
	}
	memcpy(s->mem, p, len);
	write_mem(s, addr, len);
}

/* ---- breakpoints ---- */

static void sw_break(struct gdb_stub *s, uint64_t addr, bool insert)
{
	struct gdb_sw_break *b = find_sw(s, addr);
	uint8_t orig, cc = 0xcc;

	if (!insert) {
		if (b) {
			b->used = false;
			s->ops->write_mem(s->ctx, s->g_thread, addr, &b->orig, 1);
			s->ops->breakpoint(s->ctx, GDB_BP_SW, addr, 1, false);
		}
		reply(s, "OK");
		return;
	}
	if (b) {
		reply(s, "OK");
		return;
	}
	for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS && !b; i++)
		if (!s->sw[i].used)
			b = &s->sw[i];
	if (!b) {
		reply(s, E_NOMEM);
		return;
	}
	if (s->ops->read_mem(s->ctx, s->g_thread, addr, &orig, 1) != 1 ||
	    s->ops->write_mem(s->ctx, s->g_thread, addr, &cc, 1) != 1) {
		reply(s, E_FAULT);
		return;
	}
	if (s->ops->breakpoint(s->ctx, GDB_BP_SW, addr, 1, true) < 0) {
		s->ops->write_mem(s->ctx, s->g_thread, addr, &orig, 1);
		reply(s, E_IO);
		return;
	}
	*b = (struct gdb_sw_break){ .addr = addr, .orig = orig, .used = true };
	reply(s, "OK");
}

void gdb_stub_remove_breakpoints(struct gdb_stub *s)
{
	for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS; i++) {
		struct gdb_sw_break *b = &s->sw[i];

		if (b->used) {
			b->used = false;
			s->ops->write_mem(s->ctx, s->g_thread, b->addr, &b->orig, 1);
			s->ops->breakpoint(s->ctx, GDB_BP_SW, b->addr, 1, false);
		}
	}
}

/* Remember what the target took (it matches a removal on type, address and length). */
static void track_hw(struct gdb_stub *s, enum gdb_break_type type, uint64_t addr,
		     unsigned int len, bool insert)
{
	struct gdb_hw_break *free_slot = NULL;

	for (unsigned int i = 0; i < GDB_MAX_HW_BREAKS; i++) {
		struct gdb_hw_break *b = &s->hw[i];

		if (b->used && b->type == type && b->addr == addr && b->len == len) {
			if (!insert)
				b->used = false;
			return;
		}
		if (!b->used && !free_slot)
			free_slot = b;
	}
	if (insert && free_slot)
		*free_slot = (struct gdb_hw_break){ addr, len, type, true };
}

/* Z/z TYPE,ADDR,KIND */
static void cmd_breakpoint(struct gdb_stub *s, const char *p, bool insert)
{
	uint64_t type, addr, kind;
	int rc;

	if (!parse_hex(&p, &type) || !expect(&p, ',') || !parse_addr_len(&p, &addr, &kind) ||
	    (*p && *p != ';')) {
		reply(s, E_INVAL);
		return;
	}
	if (type > GDB_WP_ACCESS) {
		reply(s, "");
		return;
	}
	if (type == GDB_BP_SW) {
		sw_break(s, addr, insert);
		return;
	}
	rc = s->ops->breakpoint(s->ctx, (enum gdb_break_type)type, addr, (unsigned int)kind,
				insert);
	if (!rc)
		track_hw(s, (enum gdb_break_type)type, addr, (unsigned int)kind, insert);
	reply(s, rc > 0 ? "" : rc < 0 ? E_INVAL : "OK");
}

/*
 * A new GDB on the line: qSupported opens every connection, and the last GDB
 * may have gone without a detach (killed, or its TCP relay closed).  Nothing
 * it inserted is known to the new one, so nothing of it stays.
 */
static void forget_last_gdb(struct gdb_stub *s)
{
	gdb_stub_remove_breakpoints(s);
	for (unsigned int i = 0; i < GDB_MAX_HW_BREAKS; i++) {
		struct gdb_hw_break *b = &s->hw[i];

		if (b->used) {
			b->used = false;
			s->ops->breakpoint(s->ctx, b->type, b->addr, b->len, false);
		}
	}
	s->c_thread = 0;
}

/* ---- registers ---- */

static bool load_regs(struct gdb_stub *s)
{
	if (s->ops->get_regs(s->ctx, s->g_thread, &s->regs)) {
		reply(s, E_IO);
		return false;
	}
	return true;
}

static void cmd_read_regs(struct gdb_stub *s)
{
	unsigned int n = gdb_target_nregs(s->arch);
	size_t len = 0;
	uint8_t val[16];

	if (!load_regs(s))
		return;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int size = gdb_target_reg_size(s->arch, i);

		gdb_target_reg_get(s->arch, i, &s->regs, val);
		len += to_hex(s->reply + len, val, size);
	}
	send_packet(s, s->reply, len);
}

static void store_regs(struct gdb_stub *s)
{
	reply(s, s->ops->set_regs(s->ctx, s->g_thread, &s->regs) ? E_IO : "OK");
}

/* G: as many whole registers as the packet carries, in order. */
static void cmd_write_regs(struct gdb_stub *s, const char *p)
{
	unsigned int n = gdb_target_nregs(s->arch);
	size_t left = strlen(p);
	uint8_t val[16];

	if (left % 2) {
		reply(s, E_INVAL);
		return;
	}
	if (!load_regs(s))
		return;
	for (unsigned int i = 0; i < n && left; i++) {
		unsigned int size = gdb_target_reg_size(s->arch, i);

		if (left < 2 * size || !from_hex(val, p, size)) {
			reply(s, E_INVAL);
			return;
		}
		gdb_target_reg_set(s->arch, i, &s->regs, val);
		p += 2 * size;
		left -= 2 * size;
	}
	if (left) {
		reply(s, E_INVAL);
		return;
	}
	store_regs(s);
}

static void cmd_read_reg(struct gdb_stub *s, const char *p)
{
	uint64_t n;
	uint8_t val[16];
	unsigned int size;

	if (!parse_hex(&p, &n) || *p || n >= gdb_target_nregs(s->arch)) {
		reply(s, E_INVAL);
		return;
	}
	if (!load_regs(s))
		return;
	size = gdb_target_reg_size(s->arch, (unsigned int)n);
	gdb_target_reg_get(s->arch, (unsigned int)n, &s->regs, val);
	send_packet(s, s->reply, to_hex(s->reply, val, size));
}

static void cmd_write_reg(struct gdb_stub *s, const char *p)
{
	uint64_t n;
	uint8_t val[16];
	unsigned int size;

	if (!parse_hex(&p, &n) || !expect(&p, '=') || n >= gdb_target_nregs(s->arch)) {
		reply(s, E_INVAL);
		return;
	}
	size = gdb_target_reg_size(s->arch, (unsigned int)n);
	if (strlen(p) != 2 * size || !from_hex(val, p, size)) {
		reply(s, E_INVAL);
		return;
	}
	if (!load_regs(s))
		return;
	gdb_target_reg_set(s->arch, (unsigned int)n, &s->regs, val);
	store_regs(s);
}

/* ---- execution ---- */

static void resume(struct gdb_stub *s, const enum gdb_action *act)
{
	bool any = false;

	for (unsigned int i = 0; i < s->nthreads; i++)
		any |= act[i] != GDB_STAY;
	if (!any) {
		/* Nothing would run: it is stopped already, say so. */
		struct gdb_stop st = { .kind = GDB_STOP_TRAP, .tid = s->g_thread };

		gdb_stub_stopped(s, &st);
		return;
	}
	s->running = true;
	s->ops->resume(s->ctx, act);
}

/* vCont;ACTION[:TID]...: the first action naming a thread wins, one without a tid fills in. */
static void cmd_vcont(struct gdb_stub *s, const char *p)
{
	enum gdb_action act[GDB_MAX_THREADS];
	bool set[GDB_MAX_THREADS] = { false };

	while (*p) {
		enum gdb_action a;
		uint64_t sig;
		int64_t tid = -1;

		if (!expect(&p, ';'))
			goto bad;
		switch (*p++) {
		case 'c':
			a = GDB_CONTINUE;
			break;
		case 's':
			a = GDB_STEP;
			break;
		case 'C':
		case 'S':
			/* A signal for the guest: there is no such thing, it resumes without. */
			a = p[-1] == 'C' ? GDB_CONTINUE : GDB_STEP;
			if (!parse_hex(&p, &sig))
				goto bad;
			break;
		case 't':
			a = GDB_STAY;
			break;
		default:
			goto bad;
		}
		if (*p == ':') {
			p++;
			if (!parse_tid(&p, &tid) || tid == 0 || (tid > 0 && !valid_tid(s, tid)))
				goto bad;
		}
		for (unsigned int i = 0; i < s->nthreads; i++) {
			if (!set[i] && (tid < 0 || (uint64_t)tid == i + 1)) {
				act[i] = a;
				set[i] = true;
			}
		}
	}
	for (unsigned int i = 0; i < s->nthreads; i++)
		if (!set[i])
			act[i] = GDB_STAY;
	resume(s, act);
	return;
bad:
	reply(s, E_INVAL);
}

/* c [ADDR], s [ADDR], C SIG[;ADDR], S SIG[;ADDR]: the old way of resuming. */
static void cmd_legacy_resume(struct gdb_stub *s, const char *pkt)
{
	enum gdb_action act[GDB_MAX_THREADS];
	const char *p = pkt + 1;
	bool step = pkt[0] == 's' || pkt[0] == 'S';
	unsigned int who = s->c_thread ? s->c_thread : s->g_thread;
	uint64_t v;

	if (pkt[0] == 'C' || pkt[0] == 'S') {
		if (!parse_hex(&p, &v) || (*p && !expect(&p, ';'))) {
			reply(s, E_INVAL);
			return;
		}
	}
	if (*p) {
		/* Resume at ADDR: the new pc of the thread that steps or continues. */
		uint8_t val[8];

		if (!parse_hex(&p, &v) || *p) {
			reply(s, E_INVAL);
			return;
		}
		s->g_thread = who;
		if (!load_regs(s))
			return;
		memcpy(val, &v, 8);
		gdb_target_reg_set(s->arch, gdb_target_pc_reg(s->arch), &s->regs, val);
		if (s->ops->set_regs(s->ctx, who, &s->regs)) {
			reply(s, E_IO);
			return;
		}
	}
	for (unsigned int i = 0; i < s->nthreads; i++)
		act[i] = step ? (i + 1 == who ? GDB_STEP : GDB_STAY) : GDB_CONTINUE;
	resume(s, act);
}

/* ---- queries ---- */

static bool is_supported(const char *pkt)
{
	return !strncmp(pkt, "qSupported", 10) && (!pkt[10] || pkt[10] == ':');
}

static void reply_supported(struct gdb_stub *s)
{
	forget_last_gdb(s);
	reply_fmt(s, "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;swbreak+;hwbreak+;"
		  "vContSupported+", GDB_PACKET_MAX);
}

/* qSupported: a new GDB.  One that finds the target running stops it first. */
static void cmd_supported(struct gdb_stub *s, const char *p)
{
	s->gdb_swbreak = false;
	for (const char *f = p; f && *f; f = strchr(f, ';')) {
		if (*f == ';' || *f == ':')
			f++;
		if (!strncmp(f, "swbreak+", 8))
			s->gdb_swbreak = true;
	}
	if (s->running) {
		s->new_gdb = true;
		s->ops->interrupt(s->ctx);	/* answered in gdb_stub_stopped() */
		return;
	}
	reply_supported(s);
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void cmd_xfer_features(struct gdb_stub *s, const char *p)
{
	uint64_t off, len;

	if (strncmp(p, "target.xml:", 11)) {
		reply(s, "E00");
		return;
	}
	p += 11;
	if (!parse_addr_len(&p, &off, &len) || *p) {
		reply(s, E_INVAL);
		return;
	}
	if (len > GDB_PACKET_MAX - 1)
		len = GDB_PACKET_MAX - 1;
	if (off >= s->xml_len) {
		reply(s, "l");
		return;
	}
	if (len > s->xml_len - off)
		len = s->xml_len - off;
	s->reply[0] = off + len < s->xml_len ? 'm' : 'l';
	memcpy(s->reply + 1, s->xml + off, len);
	send_packet(s, s->reply, len + 1);
}

static void cmd_thread_list(struct gdb_stub *s)
{
	size_t n = 0;

	s->reply[n++] = 'm';
	for (unsigned int i = 1; i <= s->nthreads; i++)
		n += (size_t)hv_snprintf(s->reply + n, sizeof(s->reply) - n, "%s%x",
					 i > 1 ? "," : "", i);
	send_packet(s, s->reply, n);
}

/* @text (NUL-terminated within @size) as hex. */
static void hex_reply(struct gdb_stub *s, const char *text, size_t size)
{
	size_t n = strnlen(text, size < sizeof(s->reply) / 2 ? size : sizeof(s->reply) / 2);

	send_packet(s, s->reply, to_hex(s->reply, (const uint8_t *)text, n));
}

static void cmd_thread_extra(struct gdb_stub *s, const char *p)
{
	char info[96];
	int64_t tid;

	if (!parse_tid(&p, &tid) || *p || !valid_tid(s, tid)) {
		reply(s, E_NOENT);
		return;
	}
	info[0] = 0;
	if (s->ops->thread_info)
		s->ops->thread_info(s->ctx, (unsigned int)tid, info, sizeof(info));
	hex_reply(s, info, sizeof(info));
}

/* qRcmd,HEX: a `monitor` command. */
static void cmd_monitor(struct gdb_stub *s, const char *p)
{
	char cmd[256], out[512];
	size_t n = strlen(p);

	if (n % 2 || n / 2 >= sizeof(cmd) || !from_hex((uint8_t *)cmd, p, n / 2)) {
		reply(s, E_INVAL);
		return;
	}
	cmd[n / 2] = 0;
	if (!s->ops->monitor) {
		reply(s, "");
		return;
	}
	out[0] = 0;
	s->ops->monitor(s->ctx, cmd, out, sizeof(out));
	if (out[0])
		hex_reply(s, out, sizeof(out));
	else
		reply(s, "OK");
}

static void cmd_query(struct gdb_stub *s, const char *p)
{
	if (is_supported(p))
		cmd_supported(s, p + 10);
	else if (!strncmp(p, "qXfer:features:read:", 20))
		cmd_xfer_features(s, p + 20);
	else if (!strcmp(p, "qfThreadInfo"))
		cmd_thread_list(s);
	else if (!strcmp(p, "qsThreadInfo"))
		reply(s, "l");
	else if (!strcmp(p, "qC"))
		reply_fmt(s, "QC%x", s->g_thread);
	else if (!strncmp(p, "qAttached", 9))
		reply(s, "1");		/* GDB's `quit` then detaches rather than kills */
	else if (!strncmp(p, "qThreadExtraInfo,", 17))
		cmd_thread_extra(s, p + 17);
	else if (!strncmp(p, "qRcmd,", 6))
		cmd_monitor(s, p + 6);
	else if (!strncmp(p, "qSymbol:", 8))
		reply(s, "OK");
	else {
		s->unknown++;
		reply(s, "");
	}
}

static void cmd_set_thread(struct gdb_stub *s, const char *p)
{
	char which = *p++;
	int64_t tid;

	if ((which != 'g' && which != 'c') || !parse_tid(&p, &tid) || *p ||
	    (tid > 0 && !valid_tid(s, tid))) {
		reply(s, E_NOENT);
		return;
	}
	if (which == 'g') {
		if (tid > 0)
			s->g_thread = (unsigned int)tid;
	} else {
		s->c_thread = tid > 0 ? (unsigned int)tid : 0;
	}
	reply(s, "OK");
}

static void finish(struct gdb_stub *s, bool kill)
{
	gdb_stub_remove_breakpoints(s);
	s->ops->detach(s->ctx, kill);
	s->done = true;
}

static void handle_packet(struct gdb_stub *s, const char *pkt, size_t n)
{
	int64_t tid;
	const char *p;

	s->packets++;
	if (s->done)
		return;
	if (s->running) {
		/* All-stop: nothing but Ctrl-C while it runs, and a new GDB's first packet. */
		if (is_supported(pkt) && !s->new_gdb)
			cmd_supported(s, pkt + 10);
		return;
	}
	switch (pkt[0]) {
	case '?':
		send_stop(s, &s->last_stop);
		break;
	case 'q':
		cmd_query(s, pkt);
		break;
	case 'Q':
		if (!strcmp(pkt, "QStartNoAckMode")) {
			reply(s, "OK");		/* acknowledged the old way, then no more */
			s->no_ack = true;
		} else {
			s->unknown++;
			reply(s, "");
		}
		break;
	case 'H':
		cmd_set_thread(s, pkt + 1);
		break;
	case 'T':
		p = pkt + 1;
		reply(s, parse_tid(&p, &tid) && !*p && valid_tid(s, tid) ? "OK" : E_NOENT);
		break;
	case 'g':
		if (pkt[1])
			reply(s, E_INVAL);
		else
			cmd_read_regs(s);
		break;
	case 'G':
		cmd_write_regs(s, pkt + 1);
		break;
	case 'p':
		cmd_read_reg(s, pkt + 1);
		break;
	case 'P':
		cmd_write_reg(s, pkt + 1);
		break;
	case 'm':
		cmd_read_mem(s, pkt + 1);
		break;
	case 'M':
		cmd_write_mem_hex(s, pkt + 1);
		break;
	case 'X':
		cmd_write_mem_bin(s, pkt, n);
		break;
	case 'Z':
	case 'z':
		cmd_breakpoint(s, pkt + 1, pkt[0] == 'Z');
		break;
	case 'c':
	case 's':
	case 'C':
	case 'S':
		cmd_legacy_resume(s, pkt);
		break;
	case 'v':
		if (!strcmp(pkt, "vCont?"))
			reply(s, "vCont;c;C;s;S;t");
		else if (!strncmp(pkt, "vCont", 5) && (pkt[5] == ';' || !pkt[5]))
			cmd_vcont(s, pkt + 5);
		else if (!strncmp(pkt, "vKill", 5)) {
			reply(s, "OK");
			finish(s, true);
		} else {
			s->unknown++;
			reply(s, "");	/* vMustReplyEmpty among them */
		}
		break;
	case 'D':
		reply(s, "OK");
		finish(s, false);
		break;
	case 'k':
		finish(s, true);	/* GDB waits for no answer */
		break;
	default:
		s->unknown++;
		reply(s, "");
	}
}

void gdb_stub_input(struct gdb_stub *s, uint8_t c)
{
	switch (gdb_rsp_feed(&s->rsp, c)) {
	case RSP_PACKET:
		/* A new GDB starts in ack mode, whatever the last one turned off. */
		if (is_supported(s->rsp.buf))
			s->no_ack = false;
		if (!s->no_ack)
			send_raw(s, "+", 1);
		/* A NUL inside a text packet ends it: its commands never hold one. */
		handle_packet(s, s->rsp.buf, s->rsp.len);
		break;
	case RSP_BAD_CHECKSUM:
		s->bad_checksums++;
		if (!s->no_ack)
			send_raw(s, "-", 1);
		break;
	case RSP_TOO_LONG:
		s->too_long++;
		if (!s->no_ack)
			send_raw(s, "+", 1);
		if (!s->running && !s->done)
			reply(s, E_INVAL);
		break;
	case RSP_INTERRUPT:
		if (s->running && !s->done)
			s->ops->interrupt(s->ctx);
		break;
	case RSP_NAK:
		if (!s->no_ack && s->out_len)
			send_raw(s, s->out, s->out_len);
		break;
	default:
		break;
	}
}
