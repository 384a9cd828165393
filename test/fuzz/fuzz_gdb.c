/* libFuzzer harness: the GDB remote protocol layer (kvm-core/gdb.c), its
 * byte framing and every packet handler, against a fake target. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdb.h"

/* The fake target: registers, 4 KiB of memory at MEM_BASE. */
#define MEM_BASE 0x1000
#define MEM_SIZE 4096

struct fake {
	uint8_t regs[KC_GDB_REGS_SIZE];
	uint8_t mem[MEM_SIZE];
	int breakpoints; /* inserted minus removed */
};

static int f_read_regs(void *t, uint8_t *regs)
{
	memcpy(regs, ((struct fake *)t)->regs, KC_GDB_REGS_SIZE);
	return 0;
}

static int f_write_reg(void *t, unsigned n, const uint8_t *val)
{
	struct fake *f = t;

	assert(n < KC_GDB_NREGS);
	if (n >= KC_GDB_CS) /* like the VM: segments are read-only */
		return -EPERM;
	memcpy(f->regs + kc_gdb_reg_offset(n), val, kc_gdb_reg_size(n));
	return 0;
}

static int in_mem(uint64_t addr, size_t len)
{
	return addr >= MEM_BASE && len <= MEM_SIZE &&
	       addr - MEM_BASE <= MEM_SIZE - len;
}

/* The handlers must never ask for more than a reply can carry. */
static int f_read_mem(void *t, uint64_t addr, uint8_t *buf, size_t len)
{
	assert(len <= KC_GDB_PACKET_MAX);
	if (!in_mem(addr, len))
		return -EFAULT;
	memcpy(buf, ((struct fake *)t)->mem + (addr - MEM_BASE), len);
	return 0;
}

static int f_write_mem(void *t, uint64_t addr, const uint8_t *buf, size_t len)
{
	assert(len <= KC_GDB_PACKET_MAX);
	if (!in_mem(addr, len))
		return -EFAULT;
	memcpy(((struct fake *)t)->mem + (addr - MEM_BASE), buf, len);
	return 0;
}

static int f_breakpoint(void *t, int type, uint64_t addr, bool insert)
{
	struct fake *f = t;

	assert(type == 0 || type == 1);
	if (!in_mem(addr, 1))
		return -EFAULT;
	f->breakpoints += insert ? 1 : -1;
	return 0;
}

static const struct kc_gdb_ops fake_ops = {
    f_read_regs, f_write_reg, f_read_mem, f_write_mem, f_breakpoint,
};

/* Handle one payload from an exactly sized copy (ASan sees over-reads);
 * the reply must fit a packet and frame. */
static void handle(struct kc_gdb_proto *p, const char *pkt, size_t len)
{
	static char out[KC_GDB_PACKET_MAX + 1], framed[2 * KC_GDB_PACKET_MAX];
	char *copy = malloc(len ? len : 1);
	enum kc_gdb_action act;
	size_t outlen = 0;

	assert(copy);
	memcpy(copy, pkt, len);
	act = kc_gdb_handle(p, copy, len, out, &outlen);
	free(copy);
	assert(act >= KC_GDB_NONE && act <= KC_GDB_KILL);
	if (outlen == SIZE_MAX) {
		assert(act == KC_GDB_CONTINUE || act == KC_GDB_STEP ||
		       act == KC_GDB_KILL);
		outlen = kc_gdb_stop_reply(p, out, KC_GDB_PACKET_MAX);
	}
	assert(outlen <= KC_GDB_PACKET_MAX);
	assert(kc_gdb_frame(out, outlen, framed, sizeof(framed)) == outlen + 4);
}

/*
 * The input twice: as a session of payloads separated by '\n' (reaches
 * the handlers without checksums to guess), then as raw bytes on the
 * wire, each completed packet handled in turn.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	static struct kc_gdb_rx rx;
	struct kc_gdb_proto p;
	struct fake f;
	size_t i;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < sizeof(f.regs); i++)
		f.regs[i] = (uint8_t)i;
	memset(&p, 0, sizeof(p));
	p.ops = &fake_ops;
	p.target = &f;
	p.stop.signal = 5;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (len <= KC_GDB_PACKET_MAX)
			handle(&p, s, len);
		s += len + 1;
	}

	memset(&rx, 0, sizeof(rx));
	for (i = 0; i < size; i++) {
		enum kc_gdb_event ev = kc_gdb_rx_byte(&rx, data[i]);

		assert(rx.len <= KC_GDB_PACKET_MAX);
		if (ev == KC_GDB_EV_PACKET)
			handle(&p, rx.buf, rx.len);
	}
	return 0;
}
