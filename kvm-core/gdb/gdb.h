/* The GDB remote serial protocol, as pure functions over buffers: packet
 * framing and one handler per packet, talking to the debugged program
 * through a small table of target operations.  No sockets, no KVM. */
#ifndef KC_GDB_H
#define KC_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest packet payload we accept and announce (qSupported). */
#define KC_GDB_PACKET_MAX 4096

/* Registers in the order of the target description and the `g` packet:
 * rax..r15, rip, eflags, cs ss ds es fs gs, st0..st7, the eight x87
 * control registers, xmm0..xmm15, mxcsr, fs_base, gs_base. */
enum kc_gdb_reg {
	KC_GDB_RAX,
	KC_GDB_RBX,
	KC_GDB_RCX,
	KC_GDB_RDX,
	KC_GDB_RSI,
	KC_GDB_RDI,
	KC_GDB_RBP,
	KC_GDB_RSP,
	KC_GDB_R8,
	KC_GDB_R15 = KC_GDB_R8 + 7,
	KC_GDB_RIP,
	KC_GDB_EFLAGS,
	KC_GDB_CS,
	KC_GDB_GS = KC_GDB_CS + 5,
	KC_GDB_ST0,
	KC_GDB_FCTRL = KC_GDB_ST0 + 8,
	KC_GDB_FOP = KC_GDB_FCTRL + 7,
	KC_GDB_XMM0,
	KC_GDB_MXCSR = KC_GDB_XMM0 + 16,
	KC_GDB_FS_BASE,
	KC_GDB_GS_BASE,
	KC_GDB_NREGS
};

/* Bytes of all registers in the `g` packet (552). */
#define KC_GDB_REGS_SIZE                                                       \
	(17 * 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 2 * 8)

/* Size and offset of register n in the `g` packet; 0 when n is unknown. */
size_t kc_gdb_reg_size(unsigned n);
size_t kc_gdb_reg_offset(unsigned n);

/* The target description GDB reads with qXfer:features:read. */
extern const char kc_gdb_target_xml[];

/* What the debugged program can do.  Each returns 0 or a negative errno. */
struct kc_gdb_ops {
	/* All registers, KC_GDB_REGS_SIZE bytes, little-endian. */
	int (*read_regs)(void *t, uint8_t *regs);
	/* One register: kc_gdb_reg_size(n) bytes. */
	int (*write_reg)(void *t, unsigned n, const uint8_t *val);
	/* Memory: the whole range, or a negative errno and nothing. */
	int (*read_mem)(void *t, uint64_t addr, uint8_t *buf, size_t len);
	int (*write_mem)(void *t, uint64_t addr, const uint8_t *buf,
	                 size_t len);
	/* Insert (or remove) a breakpoint; type 0 software, 1 hardware. */
	int (*breakpoint)(void *t, int type, uint64_t addr, bool insert);
};

/* What the caller does once a packet has been handled. */
enum kc_gdb_action {
	KC_GDB_NONE,     /* keep reading packets */
	KC_GDB_CONTINUE, /* resume; send a stop reply at the next stop */
	KC_GDB_STEP,     /* one instruction, then a stop reply */
	KC_GDB_DETACH,   /* resume without the debugger ("OK" sent) */
	KC_GDB_KILL,     /* end the program */
};

/* Why the program stopped, for `?` and the stop replies. */
struct kc_gdb_stop {
	int signal;   /* GDB's numbering: 5 SIGTRAP, 11 SIGSEGV, ... */
	bool swbreak; /* at a software breakpoint (pc already rewound) */
	bool hwbreak;
};

/* The protocol state of one connection. */
struct kc_gdb_proto {
	const struct kc_gdb_ops *ops;
	void *target;
	struct kc_gdb_stop stop;
	bool no_ack; /* QStartNoAckMode accepted */
};

/*
 * Handle the payload of one packet (checksum already checked, escapes
 * still in place) and write the reply payload into out (at least
 * KC_GDB_PACKET_MAX bytes) with its length in *outlen.  Returns the action;
 * for KC_GDB_CONTINUE, KC_GDB_STEP and KC_GDB_KILL there is no reply
 * (*outlen is SIZE_MAX).  Never fails: bad packets get "E01"-style replies.
 */
enum kc_gdb_action kc_gdb_handle(struct kc_gdb_proto *p, const char *pkt,
                                 size_t len, char *out, size_t *outlen);

/* The stop reply for p->stop ("T05thread:1;swbreak:;"): length written. */
size_t kc_gdb_stop_reply(const struct kc_gdb_proto *p, char *out, size_t cap);

/* A hex digit's value, or -1; the lower-case digit for v's low 4 bits. */
int kc_gdb_hexval(char c);
char kc_gdb_hexdigit(unsigned v);

/* Frame payload as "$payload#xx" into out; the length, or 0 when it does
 * not fit.  The payload must already be escaped. */
size_t kc_gdb_frame(const char *payload, size_t len, char *out, size_t cap);

/* Incoming bytes to packets. */
enum kc_gdb_event {
	KC_GDB_EV_NONE,      /* need more bytes */
	KC_GDB_EV_PACKET,    /* rx->buf[0..len) holds a good payload */
	KC_GDB_EV_BAD,       /* checksum mismatch: answer '-' */
	KC_GDB_EV_TOO_LONG,  /* over KC_GDB_PACKET_MAX: answer an error */
	KC_GDB_EV_ACK,       /* '+' */
	KC_GDB_EV_NACK,      /* '-': resend the last reply */
	KC_GDB_EV_INTERRUPT, /* ^C */
};

struct kc_gdb_rx {
	enum { RX_IDLE, RX_DATA, RX_SUM1, RX_SUM2 } state;
	char buf[KC_GDB_PACKET_MAX];
	size_t len;
	bool overflow;
	uint8_t sum, want;
};

/* Feed one byte; the event it completes, if any. */
enum kc_gdb_event kc_gdb_rx_byte(struct kc_gdb_rx *rx, uint8_t c);

#endif
