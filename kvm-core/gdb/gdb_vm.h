/* The GDB stub's view of a stopped VM, shared by gdb_vm.c (registers,
 * memory, breakpoints) and gdb_session.c (sockets, stops, hooks). */
#ifndef KC_GDB_VM_H
#define KC_GDB_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb.h"
#include "kc.h"

#define KC_GDB_BP_MAX 64

/* Where the user-mode state of a stopped VM lives. */
enum kc_gdb_ctx {
	/* In an exception stub: rip, cs, rflags, rsp, ss in the IST frame;
	 * resumed through the KC_STUB_RESUME iretq. */
	KC_GDB_CTX_EXC,
	/* After a call the host handled: the return address in rcx,
	 * rflags in r11, rsp as the caller left it; resumed by returning
	 * from the call (run.c return_from_call). */
	KC_GDB_CTX_CALL,
	/* Interrupted in user mode (^C, the time limit): everything in the
	 * vCPU's own registers; resumed by running on. */
	KC_GDB_CTX_USER,
};

struct kc_gdb_bp {
	uint64_t addr;
	uint8_t saved;
	bool used, temp;
};

struct kc_gdb {
	struct kc_vm *vm;
	const struct kc_debug *cfg;
	int lfd, fd;
	bool own_lfd;
	bool detached;      /* no more stops in this request */
	bool lost;          /* the connection dropped */
	bool stepping;      /* TF set for GDB's single step */
	bool break_pending; /* breakpoint() was called */
	bool intr_pending;  /* ^C came while the vCPU was in a stub */
	bool attached;      /* GDB came at some point */
	int exit_signal;    /* the fault GDB was shown, for its last word */
	enum kc_gdb_ctx ctx;
	uint64_t frame; /* KC_GDB_CTX_EXC: guest address of the frame's rip */
	struct kc_gdb_proto proto;
	struct kc_gdb_rx rx;
	char in[4096];
	size_t in_pos, in_len;
	char reply[KC_GDB_PACKET_MAX];   /* a handler's answer */
	char out[KC_GDB_PACKET_MAX + 8]; /* the last packet, for a resend */
	size_t out_len;
	struct kc_gdb_bp bp[KC_GDB_BP_MAX];
};

/* Target operations over g (the proto's target). */
extern const struct kc_gdb_ops kc_gdb_vm_ops;

/* The breakpoint at addr, or NULL. */
struct kc_gdb_bp *kc_gdb_bp_find(struct kc_gdb *g, uint64_t addr);

/* Insert a breakpoint (temp: removed at the next stop).  0 or -errno. */
int kc_gdb_bp_insert(struct kc_gdb *g, uint64_t addr, bool temp);

/* Remove every breakpoint (only the temporary ones with temp_only). */
void kc_gdb_bp_remove_all(struct kc_gdb *g, bool temp_only);

/* The user-mode rip, rflags and rsp of the stop (see enum kc_gdb_ctx). */
uint64_t *kc_gdb_user_rip(struct kc_gdb *g);
uint64_t *kc_gdb_user_rflags(struct kc_gdb *g);
uint64_t *kc_gdb_iret_frame(struct kc_gdb *g);

#endif
