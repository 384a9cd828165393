/* The GDB remote serial protocol: one handler per packet, pure
 * functions over buffers (see gdb.h).  The target is behind ops; the
 * framing is in gdb_frame.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb.h"

/* ---- hex and numbers ---------------------------------------------------- */

/* Parse a hex number at *s (up to end), at least one digit, no overflow;
 * advances *s.  0, or -EINVAL. */
static int parse_hex(const char **s, const char *end, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (p == end || kc_gdb_hexval(*p) < 0)
		return -EINVAL;
	for (; p < end && kc_gdb_hexval(*p) >= 0; p++) {
		if (x >> 60)
			return -EINVAL;
		x = (x << 4) | (uint64_t)kc_gdb_hexval(*p);
	}
	*s = p;
	*v = x;
	return 0;
}

/* Expect character c at *s. */
static int expect(const char **s, const char *end, char c)
{
	if (*s == end || **s != c)
		return -EINVAL;
	(*s)++;
	return 0;
}

/* n bytes from 2n hex digits; -EINVAL on a bad digit. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = kc_gdb_hexval(s[2 * i]),
		    lo = kc_gdb_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static size_t tohex(char *out, const uint8_t *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = kc_gdb_hexdigit(in[i] >> 4);
		out[2 * i + 1] = kc_gdb_hexdigit(in[i] & 15);
	}
	return 2 * n;
}

/* ---- replies ------------------------------------------------------------ */

/* A reply being written: out has KC_GDB_PACKET_MAX bytes. */
struct reply {
	char *buf;
	size_t len;
};

static enum kc_gdb_action say(struct reply *r, const char *s)
{
	r->len = strlen(s);
	memcpy(r->buf, s, r->len);
	return KC_GDB_NONE;
}

/* "E01"-style errors: 01 malformed, 0e (EFAULT) memory, 16 (EINVAL). */
static enum kc_gdb_action error(struct reply *r, int err)
{
	r->len = (size_t)snprintf(r->buf, 8, "E%02x", err & 0xff);
	return KC_GDB_NONE;
}

#define E_MALFORMED 1

size_t kc_gdb_stop_reply(const struct kc_gdb_proto *p, char *out, size_t cap)
{
	int n = snprintf(out, cap, "T%02xthread:1;%s", p->stop.signal & 0xff,
	                 p->stop.swbreak   ? "swbreak:;"
	                 : p->stop.hwbreak ? "hwbreak:;"
	                                   : "");

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- packet handlers ---------------------------------------------------- */

/* Each gets the payload after its command letter(s). */
typedef enum kc_gdb_action handler_fn(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r);

static enum kc_gdb_action h_stop(struct kc_gdb_proto *p, const char *s,
                                 const char *end, struct reply *r)
{
	(void)s;
	(void)end;
	r->len = kc_gdb_stop_reply(p, r->buf, KC_GDB_PACKET_MAX);
	return KC_GDB_NONE;
}

static enum kc_gdb_action h_read_regs(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	uint8_t regs[KC_GDB_REGS_SIZE];

	if (s != end)
		return error(r, E_MALFORMED);
	if (p->ops->read_regs(p->target, regs))
		return error(r, EFAULT);
	r->len = tohex(r->buf, regs, sizeof(regs));
	return KC_GDB_NONE;
}

/* A value register n may take.  RIP must be canonical (bits 63..47
 * alike): the VM would leave ring 0 to it through SYSRET or IRET, which
 * fault in ring 0 on such an address, on the user's stack. */
static bool reg_ok(unsigned n, const uint8_t *val)
{
	uint64_t v = 0;
	int i;

	if (n != KC_GDB_RIP)
		return true;
	for (i = 0; i < 8; i++)
		v |= (uint64_t)val[i] << (8 * i);
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static int put_reg(struct kc_gdb_proto *p, unsigned n, const uint8_t *val)
{
	return reg_ok(n, val) ? p->ops->write_reg(p->target, n, val) : -EINVAL;
}

static enum kc_gdb_action h_write_regs(struct kc_gdb_proto *p, const char *s,
                                       const char *end, struct reply *r)
{
	uint8_t regs[KC_GDB_REGS_SIZE], now[KC_GDB_REGS_SIZE];
	unsigned n;

	if ((size_t)(end - s) != 2 * sizeof(regs) ||
	    unhex(s, regs, sizeof(regs)))
		return error(r, E_MALFORMED);
	if (p->ops->read_regs(p->target, now))
		return error(r, EFAULT);
	/* Only the registers that change: some cannot be written.  None is
	 * written when a new value is refused. */
	for (n = 0; n < KC_GDB_NREGS; n++) {
		size_t off = kc_gdb_reg_offset(n), sz = kc_gdb_reg_size(n);

		if (memcmp(regs + off, now + off, sz) && !reg_ok(n, regs + off))
			return error(r, EINVAL);
	}
	for (n = 0; n < KC_GDB_NREGS; n++) {
		size_t off = kc_gdb_reg_offset(n), sz = kc_gdb_reg_size(n);

		if (memcmp(regs + off, now + off, sz) &&
		    put_reg(p, n, regs + off))
			return error(r, EINVAL);
	}
	return say(r, "OK");
}

static enum kc_gdb_action h_read_reg(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r)
{
	uint8_t regs[KC_GDB_REGS_SIZE];
	uint64_t n;

	if (parse_hex(&s, end, &n) || s != end)
		return error(r, E_MALFORMED);
	if (n >= KC_GDB_NREGS)
		return error(r, EINVAL);
	if (p->ops->read_regs(p->target, regs))
		return error(r, EFAULT);
	r->len = tohex(r->buf, regs + kc_gdb_reg_offset((unsigned)n),
	               kc_gdb_reg_size((unsigned)n));
	return KC_GDB_NONE;
}

static enum kc_gdb_action h_write_reg(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	uint8_t val[16];
	uint64_t n;
	size_t sz;

	if (parse_hex(&s, end, &n) || expect(&s, end, '='))
		return error(r, E_MALFORMED);
	if (n >= KC_GDB_NREGS)
		return error(r, EINVAL);
	sz = kc_gdb_reg_size((unsigned)n);
	if ((size_t)(end - s) != 2 * sz || unhex(s, val, sz))
		return error(r, E_MALFORMED);
	if (put_reg(p, (unsigned)n, val))
		return error(r, EINVAL);
	return say(r, "OK");
}

/* "addr,length" then sep (or the end when sep is 0). */
static int parse_range(const char **s, const char *end, char sep,
                       uint64_t *addr, uint64_t *len)
{
	if (parse_hex(s, end, addr) || expect(s, end, ',') ||
	    parse_hex(s, end, len))
		return -EINVAL;
	return sep ? expect(s, end, sep) : (*s == end ? 0 : -EINVAL);
}

static enum kc_gdb_action h_read_mem(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r)
{
	uint8_t buf[KC_GDB_PACKET_MAX / 2];
	uint64_t addr, len;
	size_t got;

	if (parse_range(&s, end, 0, &addr, &len))
		return error(r, E_MALFORMED);
	if (len > sizeof(buf))
		len = sizeof(buf); /* GDB accepts a short read */
	/* As much as is readable from the start: GDB reads across the end
	 * of mappings while unwinding. */
	for (got = 0; got < len; got++)
		if (p->ops->read_mem(p->target, addr + got, buf + got, 1))
			break;
	if (got == 0 && len > 0)
		return error(r, EFAULT);
	r->len = tohex(r->buf, buf, got);
	return KC_GDB_NONE;
}

static enum kc_gdb_action write_mem(struct kc_gdb_proto *p, uint64_t addr,
                                    const uint8_t *buf, size_t len,
                                    struct reply *r)
{
	if (len && p->ops->write_mem(p->target, addr, buf, len))
		return error(r, EFAULT);
	return say(r, "OK");
}

static enum kc_gdb_action h_write_mem(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	uint8_t buf[KC_GDB_PACKET_MAX / 2];
	uint64_t addr, len;

	if (parse_range(&s, end, ':', &addr, &len) || len > sizeof(buf) ||
	    (uint64_t)(end - s) != 2 * len || unhex(s, buf, len))
		return error(r, E_MALFORMED);
	return write_mem(p, addr, buf, len, r);
}

/* X: binary data, '}' escaping the next byte xor 0x20. */
static enum kc_gdb_action h_write_bin(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	uint8_t buf[KC_GDB_PACKET_MAX];
	uint64_t addr, len;
	size_t n = 0;

	if (parse_range(&s, end, ':', &addr, &len) || len > sizeof(buf))
		return error(r, E_MALFORMED);
	while (s < end && n < len) {
		uint8_t c = (uint8_t)*s++;

		if (c == '}') {
			if (s == end)
				return error(r, E_MALFORMED);
			c = (uint8_t)(*s++ ^ 0x20);
		}
		buf[n++] = c;
	}
	if (n != len || s != end)
		return error(r, E_MALFORMED);
	return write_mem(p, addr, buf, n, r);
}

/* c [addr] / s [addr]: resume, optionally at addr. */
static enum kc_gdb_action resume(struct kc_gdb_proto *p, const char *s,
                                 const char *end, struct reply *r,
                                 enum kc_gdb_action a)
{
	uint8_t pc[8];
	uint64_t addr;
	int i;

	if (s == end)
		return a;
	if (parse_hex(&s, end, &addr) || s != end)
		return error(r, E_MALFORMED);
	for (i = 0; i < 8; i++)
		pc[i] = (uint8_t)(addr >> (8 * i));
	if (put_reg(p, KC_GDB_RIP, pc))
		return error(r, EINVAL);
	return a;
}

static enum kc_gdb_action h_continue(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r)
{
	return resume(p, s, end, r, KC_GDB_CONTINUE);
}

static enum kc_gdb_action h_step(struct kc_gdb_proto *p, const char *s,
                                 const char *end, struct reply *r)
{
	return resume(p, s, end, r, KC_GDB_STEP);
}

/* C sig[;addr] / S sig[;addr]: the signal is not delivered (there is no
 * signal in a tenant); a fault stays fatal whatever is passed. */
static enum kc_gdb_action resume_sig(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r,
                                     enum kc_gdb_action a)
{
	uint64_t sig;

	if (parse_hex(&s, end, &sig))
		return error(r, E_MALFORMED);
	if (s != end && (expect(&s, end, ';') || s == end))
		return error(r, E_MALFORMED);
	return resume(p, s, end, r, a);
}

static enum kc_gdb_action h_continue_sig(struct kc_gdb_proto *p, const char *s,
                                         const char *end, struct reply *r)
{
	return resume_sig(p, s, end, r, KC_GDB_CONTINUE);
}

static enum kc_gdb_action h_step_sig(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r)
{
	return resume_sig(p, s, end, r, KC_GDB_STEP);
}

/* Z/z type,addr,kind: types 0 (software) and 1 (hardware) only. */
static enum kc_gdb_action breakpoint(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r,
                                     bool insert)
{
	uint64_t type, addr, kind;

	if (parse_hex(&s, end, &type) || expect(&s, end, ',') ||
	    parse_hex(&s, end, &addr) || expect(&s, end, ',') ||
	    parse_hex(&s, end, &kind))
		return error(r, E_MALFORMED);
	/* Conditions and commands (";X...") are GDB's business. */
	if (s != end && *s != ';')
		return error(r, E_MALFORMED);
	if (type > 1)
		return say(r, ""); /* watchpoints: not supported */
	if (p->ops->breakpoint(p->target, (int)type, addr, insert))
		return error(r, EFAULT);
	return say(r, "OK");
}

static enum kc_gdb_action h_insert_bp(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	return breakpoint(p, s, end, r, true);
}

static enum kc_gdb_action h_remove_bp(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	return breakpoint(p, s, end, r, false);
}

static enum kc_gdb_action h_kill(struct kc_gdb_proto *p, const char *s,
                                 const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	r->len = SIZE_MAX;
	return KC_GDB_KILL;
}

static enum kc_gdb_action h_detach(struct kc_gdb_proto *p, const char *s,
                                   const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	say(r, "OK");
	return KC_GDB_DETACH;
}

/* H[gc]thread: there is one thread; any choice is fine. */
static enum kc_gdb_action h_thread(struct kc_gdb_proto *p, const char *s,
                                   const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "OK");
}

static enum kc_gdb_action h_thread_alive(struct kc_gdb_proto *p, const char *s,
                                         const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "OK");
}

static enum kc_gdb_action h_supported(struct kc_gdb_proto *p, const char *s,
                                      const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	r->len = (size_t)snprintf(r->buf, KC_GDB_PACKET_MAX,
	                          "PacketSize=%x;qXfer:features:read+;"
	                          "swbreak+;hwbreak+;QStartNoAckMode+;"
	                          "vContSupported+",
	                          KC_GDB_PACKET_MAX);
	return KC_GDB_NONE;
}

/* "1": we attached to a running program, so GDB detaches on quit
 * instead of killing the request. */
static enum kc_gdb_action h_attached(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "1");
}

static enum kc_gdb_action h_current_thread(struct kc_gdb_proto *p,
                                           const char *s, const char *end,
                                           struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "QC1");
}

static enum kc_gdb_action h_first_thread(struct kc_gdb_proto *p, const char *s,
                                         const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "m1");
}

static enum kc_gdb_action h_next_thread(struct kc_gdb_proto *p, const char *s,
                                        const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "l");
}

/* qXfer:features:read:target.xml:offset,length */
static enum kc_gdb_action h_features(struct kc_gdb_proto *p, const char *s,
                                     const char *end, struct reply *r)
{
	static const char annex[] = "target.xml:";
	size_t total = strlen(kc_gdb_target_xml), n;
	uint64_t off, len;

	(void)p;
	if ((size_t)(end - s) < sizeof(annex) - 1 ||
	    memcmp(s, annex, sizeof(annex) - 1))
		return error(r, 0);
	s += sizeof(annex) - 1;
	if (parse_range(&s, end, 0, &off, &len))
		return error(r, E_MALFORMED);
	if (off >= total)
		return say(r, "l");
	n = total - off;
	if (n > len)
		n = len;
	if (n > KC_GDB_PACKET_MAX - 1)
		n = KC_GDB_PACKET_MAX - 1;
	r->buf[0] = off + n < total ? 'm' : 'l';
	memcpy(r->buf + 1, kc_gdb_target_xml + off, n);
	r->len = n + 1;
	return KC_GDB_NONE;
}

static enum kc_gdb_action h_no_ack(struct kc_gdb_proto *p, const char *s,
                                   const char *end, struct reply *r)
{
	(void)s;
	(void)end;
	p->no_ack = true; /* the caller still acks this packet */
	return say(r, "OK");
}

static enum kc_gdb_action h_vcont_query(struct kc_gdb_proto *p, const char *s,
                                        const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	return say(r, "vCont;c;C;s;S");
}

/*
 * vCont;action[:thread][;action[:thread]]...  There is one thread, so the
 * first action decides ("vCont;s:1;c" steps it).  Signals are ignored as
 * for C and S.
 */
static enum kc_gdb_action h_vcont(struct kc_gdb_proto *p, const char *s,
                                  const char *end, struct reply *r)
{
	enum kc_gdb_action a;
	uint64_t sig;

	(void)p;
	if (s == end)
		return error(r, E_MALFORMED);
	switch (*s++) {
	case 'c':
		a = KC_GDB_CONTINUE;
		break;
	case 's':
		a = KC_GDB_STEP;
		break;
	case 'C':
		a = KC_GDB_CONTINUE;
		if (parse_hex(&s, end, &sig))
			return error(r, E_MALFORMED);
		break;
	case 'S':
		a = KC_GDB_STEP;
		if (parse_hex(&s, end, &sig))
			return error(r, E_MALFORMED);
		break;
	default:
		return error(r, E_MALFORMED);
	}
	if (s != end && *s != ':' && *s != ';')
		return error(r, E_MALFORMED);
	return a;
}

static enum kc_gdb_action h_vkill(struct kc_gdb_proto *p, const char *s,
                                  const char *end, struct reply *r)
{
	(void)p;
	(void)s;
	(void)end;
	say(r, "OK");
	return KC_GDB_KILL;
}

static const struct packet {
	const char *name;
	bool exact; /* the whole payload, not a prefix */
	handler_fn *fn;
} packets[] = {
    {"?", true, h_stop},
    {"g", false, h_read_regs},
    {"G", false, h_write_regs},
    {"p", false, h_read_reg},
    {"P", false, h_write_reg},
    {"m", false, h_read_mem},
    {"M", false, h_write_mem},
    {"X", false, h_write_bin},
    {"c", false, h_continue},
    {"s", false, h_step},
    {"C", false, h_continue_sig},
    {"S", false, h_step_sig},
    {"Z", false, h_insert_bp},
    {"z", false, h_remove_bp},
    {"k", false, h_kill},
    {"D", false, h_detach},
    {"H", false, h_thread},
    {"T", false, h_thread_alive},
    {"qSupported", false, h_supported},
    {"qAttached", false, h_attached},
    {"qC", true, h_current_thread},
    {"qfThreadInfo", true, h_first_thread},
    {"qsThreadInfo", true, h_next_thread},
    {"qXfer:features:read:", false, h_features},
    {"QStartNoAckMode", true, h_no_ack},
    {"vCont?", true, h_vcont_query},
    {"vCont;", false, h_vcont},
    {"vKill", false, h_vkill},
};

enum kc_gdb_action kc_gdb_handle(struct kc_gdb_proto *p, const char *pkt,
                                 size_t len, char *out, size_t *outlen)
{
	struct reply r = {out, 0};
	enum kc_gdb_action a = KC_GDB_NONE;
	size_t i;

	for (i = 0; i < sizeof(packets) / sizeof(packets[0]); i++) {
		const struct packet *k = &packets[i];
		size_t n = strlen(k->name);

		if (len < n || memcmp(pkt, k->name, n) ||
		    (k->exact && len != n))
			continue;
		a = k->fn(p, pkt + n, pkt + len, &r);
		break;
	}
	/* Unknown packets get the empty reply, as the protocol asks; a
	 * resumed program answers with a stop reply, later. */
	if (a == KC_GDB_CONTINUE || a == KC_GDB_STEP)
		r.len = SIZE_MAX;
	*outlen = r.len;
	return a;
}
