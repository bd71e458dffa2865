/* SPDX-License-Identifier: MIT */
/*
 * Tests for hv/gdb/stub.c with the fake target (fake_target.h): each packet
 * GDB sends and the answer it gets, breakpoints in memory, resumes and stop
 * replies, acks, and malformed packets answered with errors.
 */
#include "tests/host/test.h"
#include "tests/hv/gdb/fake_target.h"

static struct fake f;
static struct gdb_stub stub;
static char body[1 << 15];

static void setup(enum gdb_arch arch)
{
	fake_init(&f, &stub, arch);
}

static void send_bytes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gdb_stub_input(&stub, (uint8_t)s[i]);
}

/* The body of the last packet on the line (escapes undone); NULL if none. */
static const char *last_packet(void)
{
	size_t start = f.out_len, o = 0;

	while (start && f.out[start - 1] != '$')
		start--;
	if (!start)
		return NULL;
	for (size_t i = start; i < f.out_len && f.out[i] != '#'; i++) {
		char c = f.out[i];

		if (c == '}')
			c = f.out[++i] ^ 0x20;
		body[o++] = c;
	}
	body[o] = 0;
	return body;
}

/* Send a framed packet; the reply's body, or NULL when nothing new was sent. */
static const char *ask_n(const char *pkt, size_t n)
{
	static char framed[2 * GDB_PACKET_MAX + 16];
	size_t before;

	f.out_len = 0;
	before = f.out_len;
	send_bytes(framed, gdb_rsp_frame(framed, sizeof(framed), pkt, n));
	return f.out_len > before ? last_packet() : NULL;
}

static const char *ask(const char *pkt)
{
	return ask_n(pkt, strlen(pkt));
}

#define ASK_EQ(pkt, want)						\
	do {								\
		const char *_r = ask(pkt);				\
		CHECK(_r != NULL);					\
		CHECK_STR(_r, want);					\
	} while (0)

static uint64_t hex_le(const char *s, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int b;

		sscanf(s + 2 * i, "%2x", &b);
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

TEST(qsupported_offers_packet_size_noack_and_xfer)
{
	const char *r;

	setup(GDB_ARCH_AMD64);
	r = ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
	CHECK(r && strstr(r, "PacketSize=1000"));
	CHECK(strstr(r, "QStartNoAckMode+"));
	CHECK(strstr(r, "qXfer:features:read+"));
	CHECK(stub.gdb_swbreak);
	CHECK_EQ(f.out[0], '+');
}

TEST(noack_mode_stops_acks_after_its_own_ok)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("QStartNoAckMode", "OK");
	CHECK_EQ(f.out[0], '+');
	ASK_EQ("qC", "QC1");
	CHECK_EQ(f.out[0], '$');
}

static bool read_xml(enum gdb_arch arch, char *xml, size_t size)
{
	size_t len = 0;
	char pkt[64];

	setup(arch);
	for (;;) {
		const char *r;

		snprintf(pkt, sizeof(pkt), "qXfer:features:read:target.xml:%zx,%x", len, 200);
		r = ask(pkt);
		if (!r || (r[0] != 'm' && r[0] != 'l') || len + strlen(r + 1) >= size)
			return false;
		memcpy(xml + len, r + 1, strlen(r + 1));
		len += strlen(r + 1);
		if (r[0] == 'l')
			break;
	}
	xml[len] = 0;
	return true;
}

TEST(target_xml_in_chunks_for_each_mode)
{
	static char xml[16384], want[16384];
	static const char *const names[] = { "i8086", "i386", "i386:x86-64" };

	for (int a = GDB_ARCH_I8086; a <= GDB_ARCH_AMD64; a++) {
		char arch[64];
		size_t n = gdb_target_xml(a, want, sizeof(want));

		CHECK(n < sizeof(want));
		want[n] = 0;
		CHECK(read_xml(a, xml, sizeof(xml)));
		CHECK_STR(xml, want);
		snprintf(arch, sizeof(arch), "<architecture>%s</architecture>", names[a]);
		CHECK(strstr(xml, arch));
		CHECK(strstr(xml, "org.gnu.gdb.i386.core"));
		CHECK(strstr(xml, "name=\"cr3\""));
		CHECK(strstr(xml, "name=\"efer\""));
		CHECK(strstr(xml, a == GDB_ARCH_AMD64 ? "name=\"rip\"" : "name=\"eip\""));
		CHECK(strstr(xml, "name=\"st7\""));
	}
	setup(GDB_ARCH_AMD64);
	ASK_EQ("qXfer:features:read:other.xml:0,10", "E00");
	ASK_EQ("qXfer:features:read:target.xml:ffff,10", "l");
}

TEST(g_has_every_register_in_order)
{
	const char *r;
	unsigned int total = 0;

	setup(GDB_ARCH_AMD64);
	for (unsigned int i = 0; i < gdb_target_nregs(GDB_ARCH_AMD64); i++)
		total += gdb_target_reg_size(GDB_ARCH_AMD64, i);
	r = ask("g");
	CHECK(r);
	CHECK_EQ(strlen(r), 2 * total);
	CHECK_EQ(hex_le(r, 8), f.regs[0].gpr[0]);		/* rax */
	CHECK_EQ(hex_le(r + 16, 8), f.regs[0].gpr[3]);		/* rbx */
	CHECK_EQ(hex_le(r + 16 * 16, 8), f.regs[0].rip);
	CHECK_EQ(hex_le(r + 16 * 17, 4), 0x202);		/* eflags */
	/* i386: eax, ecx, edx, ebx, ... in the CPU's order, 32 bits each. */
	setup(GDB_ARCH_I386);
	r = ask("g");
	CHECK(r);
	CHECK_EQ(hex_le(r, 4), (uint32_t)f.regs[0].gpr[0]);
	CHECK_EQ(hex_le(r + 8, 4), (uint32_t)f.regs[0].gpr[1]);
	CHECK_EQ(hex_le(r + 8 * 8, 4), (uint32_t)f.regs[0].rip);
}

TEST(p_and_P_one_register)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("p10", "1000100000000000");		/* rip = 0x100010 */
	ASK_EQ("P10=2000100000000000", "OK");
	CHECK_EQ(f.regs[0].rip, 0x100020);
	ASK_EQ("p10", "2000100000000000");
	/* fctrl (register 32) comes from the FXSAVE image. */
	ASK_EQ("p20", "7f030000");
	/* A 32-bit write keeps the upper half of the 64-bit field. */
	setup(GDB_ARCH_I386);
	ASK_EQ("P0=78563412", "OK");
	CHECK_EQ(f.regs[0].gpr[0], 0x1111111112345678ULL);
}

TEST(registers_that_cannot_change_are_refused)
{
	char pkt[64];
	unsigned int cr3 = 0;

	setup(GDB_ARCH_AMD64);
	/* cr3 is register 66 in the amd64 layout. */
	for (unsigned int i = 0; i < gdb_target_nregs(GDB_ARCH_AMD64); i++) {
		char xml[64];

		snprintf(xml, sizeof(xml), "name=\"cr3\" bitsize=\"64\" type=\"uint64\" regnum=\"%u\"", i);
		if (strstr(stub.xml, xml))
			cr3 = i;
	}
	CHECK(cr3);
	snprintf(pkt, sizeof(pkt), "P%x=0020000000000000", cr3);
	ASK_EQ(pkt, "E05");
	CHECK_EQ(f.regs[0].cr3, 0x1000);
}

TEST(G_writes_back_what_g_read)
{
	static char regs[8192], pkt[8200];

	setup(GDB_ARCH_AMD64);
	strcpy(regs, ask("g"));
	/* Change rax only. */
	memcpy(regs, "efbeadde00000000", 16);
	snprintf(pkt, sizeof(pkt), "G%s", regs);
	ASK_EQ(pkt, "OK");
	CHECK_EQ(f.regs[0].gpr[0], 0xdeadbeef);
	CHECK_EQ(f.regs[0].rip, 0x100010);
	ASK_EQ("G123", "E16");
}

TEST(threads_are_vcpus)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("qfThreadInfo", "m1,2");
	ASK_EQ("qsThreadInfo", "l");
	ASK_EQ("qC", "QC1");
	ASK_EQ("T2", "OK");
	ASK_EQ("T3", "E02");
	ASK_EQ("Hg2", "OK");
	ASK_EQ("p10", "2000100000000000");		/* thread 2's pc */
	ASK_EQ("Hg9", "E02");
	ASK_EQ("Hc-1", "OK");
	ASK_EQ("Hg0", "OK");
	ASK_EQ("qC", "QC2");
	/* "vCPU 1 on CPU 2" in hex. */
	ASK_EQ("qThreadExtraInfo,2", "764350552031206f6e204350552032");
	ASK_EQ("qAttached", "1");
}

TEST(memory_reads_writes_and_faults)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("m101000,5", "68656c6c6f");
	ASK_EQ("m200000,4", "E14");
	/* A read running off the end of memory is short, not an error. */
	ASK_EQ("m10fffe,4", "9090");
	ASK_EQ("M101000,2:4142", "OK");
	CHECK(!memcmp(f.mem + 0x1000, "ABllo", 5));
	ASK_EQ("M200000,1:00", "E14");
	ASK_EQ("M101000,2:41", "E16");
	/* X: binary, '}' escapes undone by the framing; "X addr,0:" is GDB's probe. */
	ASK_EQ("X101000,0:", "OK");
	CHECK(ask_n("X101000,3:}\x03\x00", 13));
	CHECK_STR(last_packet(), "OK");
	CHECK(!memcmp(f.mem + 0x1000, "}\x03\x00", 3));
	ASK_EQ("X101000,5:ab", "E16");
	/* A huge length is a short read; a length GDB could not send is refused. */
	CHECK(strlen(ask("m100000,ffffffff")) == GDB_PACKET_MAX);
	ASK_EQ("M100000,ffffffff:00", "E16");
}

TEST(software_breakpoints_are_int3_hidden_from_reads)
{
	setup(GDB_ARCH_AMD64);
	f.mem[0x40] = 0x55;
	ASK_EQ("Z0,100040,1", "OK");
	CHECK_EQ(f.mem[0x40], 0xcc);
	ASK_EQ("m10003f,3", "905590");		/* the original byte, not the INT3 */
	ASK_EQ("Z0,100040,1", "OK");		/* twice is once */
	/* A write over it changes what removal puts back. */
	ASK_EQ("M100040,1:56", "OK");
	CHECK_EQ(f.mem[0x40], 0xcc);
	ASK_EQ("z0,100040,1", "OK");
	CHECK_EQ(f.mem[0x40], 0x56);
	ASK_EQ("z0,100040,1", "OK");
	ASK_EQ("Z0,300000,1", "E14");
}

TEST(software_breakpoints_run_out)
{
	char pkt[32];

	setup(GDB_ARCH_AMD64);
	for (int i = 0; i < GDB_MAX_SW_BREAKS; i++) {
		snprintf(pkt, sizeof(pkt), "Z0,%x,1", 0x100100 + i);
		ASK_EQ(pkt, "OK");
	}
	ASK_EQ("Z0,100400,1", "E0c");
	gdb_stub_remove_breakpoints(&stub);
	for (int i = 0; i < GDB_MAX_SW_BREAKS; i++)
		CHECK_EQ(f.mem[0x100 + i], 0x90);
}

TEST(hardware_breakpoints_and_watchpoints_go_to_the_target)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("Z1,100040,1", "OK");
	ASK_EQ("Z2,101000,8", "OK");
	ASK_EQ("Z4,101008,4", "OK");
	ASK_EQ("Z3,101010,4", "");		/* read watchpoints: not supported */
	ASK_EQ("Z2,101020,4", "OK");
	ASK_EQ("Z2,101030,4", "E16");		/* four debug registers */
	ASK_EQ("z2,101020,4", "OK");
	CHECK_EQ(f.nhw, 3);
	ASK_EQ("Z9,0,1", "");
}

TEST(continue_reports_the_breakpoint_with_swbreak)
{
	setup(GDB_ARCH_AMD64);
	ask("qSupported:swbreak+;hwbreak+");
	ASK_EQ("Z0,100080,1", "OK");
	ASK_EQ("vCont;c", "T05thread:1;swbreak:;");
	CHECK_EQ(f.last_act[0], GDB_CONTINUE);
	CHECK_EQ(f.last_act[1], GDB_CONTINUE);
	CHECK_EQ(f.regs[0].rip, 0x100080);
	ASK_EQ("z0,100080,1", "OK");
	ASK_EQ("Z1,100090,1", "OK");
	ASK_EQ("c", "T05thread:1;hwbreak:;");
	/* Without swbreak+ from GDB the reason is left out. */
	setup(GDB_ARCH_AMD64);
	ASK_EQ("Z0,100080,1", "OK");
	ASK_EQ("vCont;c", "T05thread:1;");
}

TEST(vcont_actions_per_thread)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("vCont?", "vCont;c;C;s;S;t");
	/* Step thread 2, continue the rest: the fake reports the step. */
	ASK_EQ("vCont;s:2;c", "T05thread:2;");
	CHECK_EQ(f.last_act[0], GDB_CONTINUE);
	CHECK_EQ(f.last_act[1], GDB_STEP);
	CHECK_EQ(f.regs[1].rip, 0x100021);
	/* The first action naming a thread wins. */
	ASK_EQ("vCont;s:1;s:1;c:1", "T05thread:1;");
	CHECK_EQ(f.last_act[0], GDB_STEP);
	CHECK_EQ(f.last_act[1], GDB_STAY);
	/* Nothing runs: stopped at once. */
	ASK_EQ("vCont;t", "T05thread:1;");
	ASK_EQ("vCont;x", "E16");
	ASK_EQ("vCont;c:5", "E16");
	ASK_EQ("vCont;C", "E16");
	ASK_EQ("vCont;S05:2", "T05thread:2;");
}

TEST(legacy_step_at_an_address)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("Hc2", "OK");
	ASK_EQ("s100050", "T05thread:2;");
	CHECK_EQ(f.regs[1].rip, 0x100051);
	CHECK_EQ(f.last_act[0], GDB_STAY);
}

TEST(ctrl_c_stops_a_running_target_and_nothing_else_is_answered)
{
	setup(GDB_ARCH_AMD64);
	CHECK(ask("vCont;c") == NULL || f.out_len == 1);	/* only the ack: it runs */
	CHECK(stub.running);
	CHECK(ask("g") == NULL);			/* acked, dropped */
	f.out_len = 0;
	gdb_stub_input(&stub, 0x03);
	CHECK_EQ(f.interrupts, 1);
	CHECK(last_packet());
	CHECK_STR(last_packet(), "T02thread:1;");
	CHECK(!stub.running);
	/* Ctrl-C while stopped does nothing. */
	gdb_stub_input(&stub, 0x03);
	CHECK_EQ(f.interrupts, 1);
}

TEST(bad_checksum_gets_nak_and_nak_gets_resend)
{
	setup(GDB_ARCH_AMD64);
	f.out_len = 0;
	send_bytes("$qC#00", 6);
	CHECK_EQ(f.out_len, 1);
	CHECK_EQ(f.out[0], '-');
	ASK_EQ("qC", "QC1");
	f.out_len = 0;
	gdb_stub_input(&stub, '-');
	CHECK(f.out_len > 0);
	CHECK_STR(last_packet(), "QC1");
	CHECK_EQ(stub.bad_checksums, 1);
}

TEST(unknown_and_malformed_packets_get_empty_or_error_replies)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("vMustReplyEmpty", "");
	ASK_EQ("qOffsets", "");
	ASK_EQ("!", "");
	ASK_EQ("", "");
	ASK_EQ("m", "E16");
	ASK_EQ("m1,", "E16");
	ASK_EQ("m11111111111111111,1", "E16");	/* 17 digits */
	ASK_EQ("pzz", "E16");
	ASK_EQ("p999", "E16");
	ASK_EQ("P10=12", "E16");
	ASK_EQ("Z0", "E16");
	ASK_EQ("Z0,1,", "E16");
	ASK_EQ("gx", "E16");
	ASK_EQ("Hx1", "E02");
	ASK_EQ("qRcmd,6", "E16");
	ASK_EQ("qRcmd,6869", "6d6f6e69746f7220736169643a2068690a");	/* "monitor said: hi\n" */
	CHECK(stub.unknown >= 3);
}

TEST(overlong_packet_gets_an_error)
{
	static char big[GDB_PACKET_MAX + 64];

	setup(GDB_ARCH_AMD64);
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ASK_EQ(big, "E16");
	CHECK_EQ(stub.too_long, 1);
	ASK_EQ("qC", "QC1");
}

TEST(detach_puts_breakpoints_back)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("Z0,100040,1", "OK");
	ASK_EQ("D", "OK");
	CHECK_EQ(f.detached, 1);
	CHECK_EQ(f.mem[0x40], 0x90);
	CHECK(stub.done);
	CHECK(ask("qC") == NULL || f.out_len == 1);	/* over: acked, not answered */
}

TEST(kill_ends_without_a_reply)
{
	setup(GDB_ARCH_AMD64);
	ASK_EQ("Z0,100040,1", "OK");
	CHECK(ask("k") == NULL);
	CHECK_EQ(f.killed, 1);
	CHECK_EQ(f.mem[0x40], 0x90);
	CHECK(stub.done);
}

TEST(guest_end_is_an_exit_reply)
{
	struct gdb_stop st = { .kind = GDB_STOP_EXITED, .status = 3 };

	setup(GDB_ARCH_AMD64);
	ask("vCont;c");
	f.out_len = 0;
	gdb_stub_stopped(&stub, &st);
	CHECK_STR(last_packet(), "W03");
	CHECK(stub.done);
	setup(GDB_ARCH_AMD64);
	st.kind = GDB_STOP_KILLED;
	gdb_stub_stopped(&stub, &st);
	CHECK_STR(last_packet(), "X09");
}

TEST(watchpoint_stop_names_the_address)
{
	struct gdb_stop st = { .kind = GDB_STOP_WATCH, .tid = 2, .addr = 0x101000 };

	setup(GDB_ARCH_AMD64);
	ask("vCont;c");
	gdb_stub_stopped(&stub, &st);
	CHECK_STR(last_packet(), "T05thread:2;watch:101000;");
	CHECK_EQ(stub.g_thread, 2);
	st.kind = GDB_STOP_AWATCH;
	gdb_stub_stopped(&stub, &st);
	CHECK_STR(last_packet(), "T05thread:2;awatch:101000;");
}

TEST(new_gdb_while_stopped_gets_acks_and_no_old_breakpoints)
{
	const char *r;

	setup(GDB_ARCH_AMD64);
	ASK_EQ("QStartNoAckMode", "OK");
	ASK_EQ("Z0,100080,1", "OK");
	ASK_EQ("Z2,101000,8", "OK");
	ASK_EQ("Hc2", "OK");
	CHECK_EQ(f.mem[0x80], 0xcc);
	/* The first GDB went without a detach; the next one starts in ack mode. */
	r = ask("qSupported:swbreak+");
	CHECK(r && strstr(r, "PacketSize=1000"));
	CHECK_EQ(f.out[0], '+');
	CHECK_EQ(f.mem[0x80], 0x90);
	CHECK(!gdb_stub_has_sw_break(&stub, 0x100080));
	CHECK_EQ(f.nhw, 0);
	CHECK_EQ(stub.c_thread, 0);
	/* A removed watchpoint is forgotten too: the next GDB has nothing to remove. */
	ASK_EQ("Z2,101000,8", "OK");
	ASK_EQ("z2,101000,8", "OK");
	ask("qSupported");
	CHECK_EQ(f.nhw, 0);
	ASK_EQ("qC", "QC1");
	CHECK_EQ(f.out[0], '+');
}

TEST(new_gdb_while_running_stops_the_target_then_answers)
{
	const char *r;

	setup(GDB_ARCH_AMD64);
	ASK_EQ("QStartNoAckMode", "OK");
	ASK_EQ("Z4,101008,4", "OK");
	CHECK(ask("vCont;c") == NULL);		/* no INT3: it runs */
	CHECK(stub.running);
	/* Its GDB was killed; a new one connects while the guest runs. */
	r = ask("qSupported:multiprocess+;swbreak+");
	CHECK_EQ(f.interrupts, 1);
	CHECK(!stub.running);
	CHECK(r && strstr(r, "PacketSize=1000"));
	CHECK_EQ(f.out[0], '+');
	CHECK(stub.gdb_swbreak);
	CHECK_EQ(f.nhw, 0);
	/* It hears of the stop as an attaching GDB does, and works. */
	ASK_EQ("?", "T05thread:1;");
	ASK_EQ("qC", "QC1");
	/* Packets other than qSupported are still dropped while running. */
	CHECK(ask("vCont;c") == NULL || f.out_len == 1);
	CHECK(ask("qC") == NULL || f.out_len == 1);
	CHECK(stub.running);
	CHECK_EQ(f.interrupts, 1);
}
