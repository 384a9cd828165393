/* Unit tests for the GDB packet layer: framing, every handler, and
 * malformed, truncated and oversized input against a fake target. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb.h"

/* A fake target: registers, 4 KiB of memory at MEM_BASE, breakpoints. */
#define MEM_BASE 0x1000
struct fake {
	uint8_t regs[KC_GDB_REGS_SIZE];
	uint8_t mem[4096];
	uint64_t bp_addr;
	int bp_type, bp_inserts, bp_removes;
};

static int f_read_regs(void *t, uint8_t *regs)
{
	memcpy(regs, ((struct fake *)t)->regs, KC_GDB_REGS_SIZE);
	return 0;
}

static int f_write_reg(void *t, unsigned n, const uint8_t *val)
{
	struct fake *f = t;

	if (n >= KC_GDB_CS) /* like the VM: segments are read-only */
		return -EPERM;
	memcpy(f->regs + kc_gdb_reg_offset(n), val, kc_gdb_reg_size(n));
	return 0;
}

static int in_mem(uint64_t addr, size_t len)
{
	return addr >= MEM_BASE && len <= 4096 && addr - MEM_BASE <= 4096 - len;
}

static int f_read_mem(void *t, uint64_t addr, uint8_t *buf, size_t len)
{
	if (!in_mem(addr, len))
		return -EFAULT;
	memcpy(buf, ((struct fake *)t)->mem + (addr - MEM_BASE), len);
	return 0;
}

static int f_write_mem(void *t, uint64_t addr, const uint8_t *buf, size_t len)
{
	if (!in_mem(addr, len))
		return -EFAULT;
	memcpy(((struct fake *)t)->mem + (addr - MEM_BASE), buf, len);
	return 0;
}

static int f_breakpoint(void *t, int type, uint64_t addr, bool insert)
{
	struct fake *f = t;

	if (!in_mem(addr, 1))
		return -EFAULT;
	f->bp_addr = addr;
	f->bp_type = type;
	if (insert)
		f->bp_inserts++;
	else
		f->bp_removes++;
	return 0;
}

static const struct kc_gdb_ops fake_ops = {
    f_read_regs, f_write_reg, f_read_mem, f_write_mem, f_breakpoint,
};

static struct fake fk;
static struct kc_gdb_proto proto;
static char out[KC_GDB_PACKET_MAX + 1];
static size_t outlen;

static void setup(void)
{
	unsigned i;

	memset(&fk, 0, sizeof(fk));
	for (i = 0; i < KC_GDB_REGS_SIZE; i++)
		fk.regs[i] = (uint8_t)i;
	for (i = 0; i < sizeof(fk.mem); i++)
		fk.mem[i] = (uint8_t)(i * 7);
	memset(&proto, 0, sizeof(proto));
	proto.ops = &fake_ops;
	proto.target = &fk;
	proto.stop.signal = 5;
}

/* Handle one payload; the reply as a string ("<none>" for no reply). */
static const char *ask_n(const char *pkt, size_t len, enum kc_gdb_action *a)
{
	enum kc_gdb_action act = kc_gdb_handle(&proto, pkt, len, out, &outlen);

	if (a)
		*a = act;
	if (outlen == SIZE_MAX)
		return "<none>";
	cr_assert_leq(outlen, KC_GDB_PACKET_MAX);
	out[outlen] = 0;
	return out;
}

static const char *ask(const char *pkt)
{
	return ask_n(pkt, strlen(pkt), NULL);
}

TestSuite(gdb, .init = setup);

Test(gdb, regs_layout_matches_description)
{
	cr_assert_eq(KC_GDB_REGS_SIZE, 552);
	cr_assert_eq(kc_gdb_reg_offset(KC_GDB_RIP), 128);
	cr_assert_eq(kc_gdb_reg_offset(KC_GDB_EFLAGS), 136);
	cr_assert_eq(kc_gdb_reg_size(KC_GDB_EFLAGS), 4);
	cr_assert_eq(kc_gdb_reg_size(KC_GDB_ST0), 10);
	cr_assert_eq(kc_gdb_reg_size(KC_GDB_XMM0 + 15), 16);
	cr_assert_eq(kc_gdb_reg_offset(KC_GDB_MXCSR), 532);
	cr_assert_eq(kc_gdb_reg_offset(KC_GDB_FS_BASE), 536);
	cr_assert_eq(kc_gdb_reg_offset(KC_GDB_NREGS), KC_GDB_REGS_SIZE);
	cr_assert_eq(kc_gdb_reg_size(KC_GDB_NREGS), 0);
}

Test(gdb, target_xml_names_every_register_in_order)
{
	static const char *const names[] = {
	    "rax",   "rbx",     "rcx",    "rdx",    "rsi",   "rdi",   "rbp",
	    "rsp",   "r8",      "r9",     "r10",    "r11",   "r12",   "r13",
	    "r14",   "r15",     "rip",    "eflags", "cs",    "ss",    "ds",
	    "es",    "fs",      "gs",     "st0",    "st1",   "st2",   "st3",
	    "st4",   "st5",     "st6",    "st7",    "fctrl", "fstat", "ftag",
	    "fiseg", "fioff",   "foseg",  "fooff",  "fop",   "xmm0",  "xmm1",
	    "xmm2",  "xmm3",    "xmm4",   "xmm5",   "xmm6",  "xmm7",  "xmm8",
	    "xmm9",  "xmm10",   "xmm11",  "xmm12",  "xmm13", "xmm14", "xmm15",
	    "mxcsr", "fs_base", "gs_base"};
	const char *p = kc_gdb_target_xml;
	char want[64];
	unsigned i;

	cr_assert_eq(sizeof(names) / sizeof(names[0]), KC_GDB_NREGS);
	for (i = 0; i < KC_GDB_NREGS; i++) {
		snprintf(want, sizeof(want), "name=\"%s\" bitsize=\"%zu\"",
		         names[i], 8 * kc_gdb_reg_size(i));
		p = strstr(p, want);
		cr_assert_not_null(p, "register %u: %s", i, want);
	}
	/* Sent unescaped: no character with a meaning in the framing. */
	cr_assert_null(strpbrk(kc_gdb_target_xml, "$#}*"));
}

Test(gdb, supported_and_queries)
{
	cr_assert(strstr(ask("qSupported:multiprocess+;swbreak+"),
	                 "PacketSize=1000"));
	cr_assert(strstr(out, "qXfer:features:read+"));
	cr_assert_str_eq(ask("?"), "T05thread:1;");
	cr_assert_str_eq(ask("qAttached"), "1");
	cr_assert_str_eq(ask("qAttached:1"), "1");
	cr_assert_str_eq(ask("qC"), "QC1");
	cr_assert_str_eq(ask("qfThreadInfo"), "m1");
	cr_assert_str_eq(ask("qsThreadInfo"), "l");
	cr_assert_str_eq(ask("Hg0"), "OK");
	cr_assert_str_eq(ask("Hc-1"), "OK");
	cr_assert_str_eq(ask("vCont?"), "vCont;c;C;s;S");
	cr_assert_str_eq(ask("vMustReplyEmpty"), "");
	cr_assert_str_eq(ask("qTStatus"), "");
	cr_assert_str_eq(ask(""), "");
	cr_assert_str_eq(ask("QStartNoAckMode"), "OK");
	cr_assert(proto.no_ack);
}

Test(gdb, stop_reply_kinds)
{
	proto.stop = (struct kc_gdb_stop){11, false, false};
	cr_assert_str_eq(ask("?"), "T0bthread:1;");
	proto.stop = (struct kc_gdb_stop){5, true, false};
	cr_assert_str_eq(ask("?"), "T05thread:1;swbreak:;");
}

Test(gdb, target_xml_in_pieces)
{
	size_t total = strlen(kc_gdb_target_xml), got = 0;
	char req[64], *xml = calloc(1, total + 1);

	for (;;) {
		snprintf(req, sizeof(req),
		         "qXfer:features:read:target.xml:%zx,100", got);
		ask(req);
		cr_assert(out[0] == 'm' || out[0] == 'l');
		memcpy(xml + got, out + 1, outlen - 1);
		got += outlen - 1;
		if (out[0] == 'l')
			break;
		cr_assert_eq(outlen - 1, 0x100);
	}
	cr_assert_eq(got, total);
	cr_assert_str_eq(xml, kc_gdb_target_xml);
	free(xml);
	snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,10",
	         total + 5);
	cr_assert_str_eq(ask(req), "l");
	cr_assert_str_eq(ask("qXfer:features:read:other.xml:0,10"), "E00");
	cr_assert_str_eq(ask("qXfer:features:read:target.xml:zz,10"), "E01");
	cr_assert_str_eq(ask("qXfer:features:read:target.xml:0"), "E01");
	cr_assert_str_eq(ask("qXfer:features:read:target.xml"), "E00");
}

Test(gdb, read_and_write_registers)
{
	char g[2 * KC_GDB_REGS_SIZE + 2];
	enum kc_gdb_action a;

	cr_assert_eq(strlen(ask("g")), 2 * KC_GDB_REGS_SIZE);
	cr_assert_eq(strncmp(out, "000102030405060708", 18), 0);
	cr_assert_str_eq(ask("p10"), "8081828384858687"); /* rip */
	cr_assert_str_eq(ask("p11"), "88898a8b");         /* eflags */
	cr_assert_str_eq(ask("P10=efbeadde00000000"), "OK");
	cr_assert_str_eq(ask("p10"), "efbeadde00000000");
	cr_assert_str_eq(ask("P12=00000000"), "E16"); /* cs: read-only */
	strcpy(g, ask("g"));
	/* G writes only what changed, so unchanged read-only ones pass. */
	g[0] = 'f';
	g[1] = 'f';
	snprintf(out, sizeof(out), "G%s", g);
	cr_assert_str_eq(ask_n(out, strlen(out), &a), "OK");
	cr_assert_eq(fk.regs[0], 0xff);
	cr_assert_eq(a, KC_GDB_NONE);
}

Test(gdb, malformed_register_packets)
{
	cr_assert_str_eq(ask("gx"), "E01");
	cr_assert_str_eq(ask("G00"), "E01");
	cr_assert_str_eq(ask("p"), "E01");
	cr_assert_str_eq(ask("pzz"), "E01");
	cr_assert_str_eq(ask("p1,"), "E01");
	cr_assert_str_eq(ask("p3b"), "E16"); /* 59: no such register */
	cr_assert_str_eq(ask("pffffffffffffffffff"), "E01");
	cr_assert_str_eq(ask("P10"), "E01");
	cr_assert_str_eq(ask("P10="), "E01");
	cr_assert_str_eq(ask("P10=00"), "E01");
	cr_assert_str_eq(ask("P10=00000000000000000000"), "E01");
	cr_assert_str_eq(ask("P10=zz00000000000000"), "E01");
	cr_assert_str_eq(ask("P99=0000000000000000"), "E16");
}

Test(gdb, memory)
{
	cr_assert_str_eq(ask("m1000,4"), "00070e15");
	cr_assert_str_eq(ask("M1000,2:abcd"), "OK");
	cr_assert_str_eq(ask("m1000,3"), "abcd0e");
	/* A read running off the end is cut short, not refused. */
	cr_assert_str_eq(ask("m1ffe,10"), "f2f9");
	cr_assert_str_eq(ask("m0,4"), "E0e");
	cr_assert_str_eq(ask("m1000,0"), "");
	cr_assert_str_eq(ask("M0,1:00"), "E0e");
	cr_assert_str_eq(ask("M1000,0:"), "OK");
	/* Length far over the packet size: a short read. */
	cr_assert_eq(strlen(ask("m1000,ffffffffffffffff")), 4096);
}

Test(gdb, malformed_memory_packets)
{
	cr_assert_str_eq(ask("m"), "E01");
	cr_assert_str_eq(ask("m1000"), "E01");
	cr_assert_str_eq(ask("m1000,"), "E01");
	cr_assert_str_eq(ask("m,4"), "E01");
	cr_assert_str_eq(ask("m1000,4x"), "E01");
	cr_assert_str_eq(ask("m10000000000000000,1"), "E01");
	cr_assert_str_eq(ask("M1000,2"), "E01");
	cr_assert_str_eq(ask("M1000,2:ab"), "E01");
	cr_assert_str_eq(ask("M1000,2:abcdef"), "E01");
	cr_assert_str_eq(ask("M1000,2:abzz"), "E01");
	cr_assert_str_eq(ask("M1000,fffff:00"), "E01");
	cr_assert_eq(fk.mem[0], 0);
}

Test(gdb, binary_write)
{
	/* 0x23 '#', 0x24 '$', 0x7d '}' arrive escaped as '}' x^0x20. */
	static const char pkt[] = "X1000,4:a}\x03}\x04}]";

	cr_assert_str_eq(ask_n(pkt, sizeof(pkt) - 1, NULL), "OK");
	cr_assert_eq(fk.mem[0], 'a');
	cr_assert_eq(fk.mem[1], '#');
	cr_assert_eq(fk.mem[2], '$');
	cr_assert_eq(fk.mem[3], '}');
	cr_assert_str_eq(ask("X1000,0:"), "OK");
	cr_assert_str_eq(ask("X1000,2:a"), "E01");
	cr_assert_str_eq(ask("X1000,1:ab"), "E01");
	cr_assert_str_eq(ask("X1000,1:}"), "E01");
	cr_assert_str_eq(ask("X1000,1"), "E01");
	cr_assert_str_eq(ask("X0,1:a"), "E0e");
}

Test(gdb, breakpoints)
{
	cr_assert_str_eq(ask("Z0,1010,1"), "OK");
	cr_assert_eq(fk.bp_inserts, 1);
	cr_assert_eq(fk.bp_addr, 0x1010);
	cr_assert_str_eq(ask("Z1,1020,1"), "OK");
	cr_assert_eq(fk.bp_type, 1);
	cr_assert_str_eq(ask("z0,1010,1"), "OK");
	cr_assert_eq(fk.bp_removes, 1);
	cr_assert_str_eq(ask("Z0,1010,1;X1,0"), "OK"); /* a condition */
	cr_assert_str_eq(ask("Z2,1010,4"), "");        /* watchpoints */
	cr_assert_str_eq(ask("Z0,10,1"), "E0e");
	cr_assert_str_eq(ask("Z0,1010"), "E01");
	cr_assert_str_eq(ask("Z0"), "E01");
	cr_assert_str_eq(ask("Z"), "E01");
	cr_assert_str_eq(ask("Zq,1010,1"), "E01");
	cr_assert_str_eq(ask("Z0,1010,1x"), "E01");
}

/* RIP only canonical (bits 63..47 alike), by P, G and c/s ADDR */
Test(gdb, rip_only_canonical)
{
	char g[2 * KC_GDB_REGS_SIZE + 2];
	enum kc_gdb_action a;
	size_t rip = 2 * kc_gdb_reg_offset(KC_GDB_RIP);

	cr_assert_str_eq(ask("P10=0000000000800000"), "E16"); /* 1 << 47 */
	cr_assert_str_eq(ask("P10=000000000000ff7f"), "E16");
	cr_assert_str_eq(ask("P10=0010000000000000"), "OK");
	cr_assert_str_eq(ask("P10=00f0ffffffffffff"), "OK"); /* upper half */
	cr_assert_str_eq(ask("P10=ffffff7f00000000"), "OK");
	cr_assert_str_eq(ask_n("c800000000000", 13, &a), "E16");
	cr_assert_eq(a, KC_GDB_NONE);
	cr_assert_str_eq(ask_n("sdead00000000ffff", 17, &a), "E16");
	cr_assert_eq(a, KC_GDB_NONE);
	cr_assert_str_eq(ask("p10"), "ffffff7f00000000");
	/* G: refused whole, the other registers unchanged */
	strcpy(g, ask("g"));
	memcpy(g, "ff", 2);
	memcpy(g + rip, "0000000000000080", 16);
	snprintf(out, sizeof(out), "G%s", g);
	cr_assert_str_eq(ask_n(out, strlen(out), &a), "E16");
	cr_assert_str_eq(ask("p10"), "ffffff7f00000000");
	cr_assert_neq(fk.regs[0], 0xff);
}

Test(gdb, resume_actions)
{
	enum kc_gdb_action a;

	cr_assert_str_eq(ask_n("c", 1, &a), "<none>");
	cr_assert_eq(a, KC_GDB_CONTINUE);
	ask_n("s", 1, &a);
	cr_assert_eq(a, KC_GDB_STEP);
	ask_n("c1234", 5, &a);
	cr_assert_eq(a, KC_GDB_CONTINUE);
	cr_assert_str_eq(ask("p10"), "3412000000000000");
	ask_n("C0b", 3, &a);
	cr_assert_eq(a, KC_GDB_CONTINUE);
	ask_n("S05;1000", 8, &a);
	cr_assert_eq(a, KC_GDB_STEP);
	ask_n("vCont;s:1;c", 11, &a);
	cr_assert_eq(a, KC_GDB_STEP);
	ask_n("vCont;c", 7, &a);
	cr_assert_eq(a, KC_GDB_CONTINUE);
	ask_n("vCont;C0b:1", 11, &a);
	cr_assert_eq(a, KC_GDB_CONTINUE);
	cr_assert_str_eq(ask_n("D", 1, &a), "OK");
	cr_assert_eq(a, KC_GDB_DETACH);
	cr_assert_str_eq(ask_n("D;1", 3, &a), "OK");
	cr_assert_eq(a, KC_GDB_DETACH);
	cr_assert_str_eq(ask_n("k", 1, &a), "<none>");
	cr_assert_eq(a, KC_GDB_KILL);
	cr_assert_str_eq(ask_n("vKill;1", 7, &a), "OK");
	cr_assert_eq(a, KC_GDB_KILL);
}

Test(gdb, malformed_resume_packets_do_not_resume)
{
	static const char *const bad[] = {
	    "cx", "c12x",   "C",       "Cx",       "C05;",     "C05;zz",
	    "S",  "vCont;", "vCont;x", "vCont;Cz", "vCont;cq", "sq"};
	enum kc_gdb_action a;
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_str_eq(ask_n(bad[i], strlen(bad[i]), &a), "E01", "%s",
		                 bad[i]);
		cr_assert_eq(a, KC_GDB_NONE, "%s", bad[i]);
	}
}

Test(gdb, packets_with_nul_bytes)
{
	static const char pkt[] = "m10\0000,4";

	cr_assert_str_eq(ask_n(pkt, sizeof(pkt) - 1, NULL), "E01");
	cr_assert_str_eq(ask_n("?\0", 2, NULL), "");
}

/* ---- framing ---- */

static enum kc_gdb_event feed(struct kc_gdb_rx *rx, const char *s, size_t n)
{
	enum kc_gdb_event ev = KC_GDB_EV_NONE;
	size_t i;

	for (i = 0; i < n; i++) {
		ev = kc_gdb_rx_byte(rx, (uint8_t)s[i]);
		if (ev != KC_GDB_EV_NONE && i + 1 < n)
			cr_assert_fail("event %d before the end, at %zu", ev,
			               i);
	}
	return ev;
}

Test(gdb_rx, good_packet_and_frame_round_trip)
{
	struct kc_gdb_rx rx;
	char framed[64];
	size_t n = kc_gdb_frame("qSupported", 10, framed, sizeof(framed));

	memset(&rx, 0, sizeof(rx));
	cr_assert_eq(n, 14);
	cr_assert_eq(memcmp(framed, "$qSupported#37", 14), 0);
	cr_assert_eq(feed(&rx, framed, n), KC_GDB_EV_PACKET);
	cr_assert_eq(rx.len, 10);
	cr_assert_eq(memcmp(rx.buf, "qSupported", 10), 0);
	cr_assert_eq(kc_gdb_frame("x", 1, framed, 4), 0);
	cr_assert_eq(kc_gdb_frame("", 0, framed, 4), 4);
}

Test(gdb_rx, acks_interrupts_and_noise)
{
	struct kc_gdb_rx rx;

	memset(&rx, 0, sizeof(rx));
	cr_assert_eq(kc_gdb_rx_byte(&rx, '+'), KC_GDB_EV_ACK);
	cr_assert_eq(kc_gdb_rx_byte(&rx, '-'), KC_GDB_EV_NACK);
	cr_assert_eq(kc_gdb_rx_byte(&rx, 3), KC_GDB_EV_INTERRUPT);
	cr_assert_eq(feed(&rx, "garbage#zz", 10), KC_GDB_EV_NONE);
	cr_assert_eq(feed(&rx, "$?#3f", 5), KC_GDB_EV_PACKET);
}

Test(gdb_rx, bad_checksums)
{
	struct kc_gdb_rx rx;

	memset(&rx, 0, sizeof(rx));
	cr_assert_eq(feed(&rx, "$?#00", 5), KC_GDB_EV_BAD);
	cr_assert_eq(feed(&rx, "$?#3", 4), KC_GDB_EV_NONE);
	cr_assert_eq(kc_gdb_rx_byte(&rx, 'x'), KC_GDB_EV_BAD);
	cr_assert_eq(feed(&rx, "$?#x", 4), KC_GDB_EV_BAD);
	cr_assert_eq(feed(&rx, "$?#3F", 5), KC_GDB_EV_PACKET); /* upper case */
}

Test(gdb_rx, truncated_then_restarted)
{
	struct kc_gdb_rx rx;

	memset(&rx, 0, sizeof(rx));
	/* GDB gave up on a packet and sent it again from '$'. */
	cr_assert_eq(feed(&rx, "$m1000,4$?#3f", 13), KC_GDB_EV_PACKET);
	cr_assert_eq(rx.len, 1);
}

Test(gdb_rx, oversized_packet)
{
	struct kc_gdb_rx rx;
	size_t n = KC_GDB_PACKET_MAX + 100, i;
	char *big = malloc(n + 5), sum = 0;

	memset(&rx, 0, sizeof(rx));
	big[0] = '$';
	for (i = 1; i <= n; i++) {
		big[i] = 'a';
		sum = (char)(sum + 'a');
	}
	snprintf(big + n + 1, 4, "#%02x", (unsigned char)sum);
	cr_assert_eq(feed(&rx, big, n + 4), KC_GDB_EV_TOO_LONG);
	/* and the framer is ready for the next one */
	cr_assert_eq(feed(&rx, "$?#3f", 5), KC_GDB_EV_PACKET);
	free(big);
}

/* Every prefix of every packet, and random bytes: no crash, a reply that
 * fits. */
Test(gdb, fuzz_prefixes_and_noise)
{
	static const char *const pkts[] = {
	    "qXfer:features:read:target.xml:0,fff",
	    "M1000,4:01020304",
	    "X1000,2:}]a",
	    "P10=0011223344556677",
	    "Z0,1000,1",
	    "vCont;s:1;c",
	    "qSupported:xmlRegisters=i386",
	    "m1000,20",
	    "G00"};
	char buf[256];
	unsigned i, j, k;

	for (i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++)
		for (j = 0; j <= strlen(pkts[i]); j++)
			ask_n(pkts[i], j, NULL);
	srand(1);
	for (k = 0; k < 20000; k++) {
		size_t n = (size_t)rand() % sizeof(buf);

		for (j = 0; j < n; j++)
			buf[j] = (char)(rand() & 0xff);
		if (n)
			buf[0] = "gGpPmMXcsCSZzkDHT?qQv"[rand() % 21];
		ask_n(buf, n, NULL);
	}
}
