/* A request under the GDB stub: stops inside the vCPU run loop, the
 * connection to GDB, and the request timer paused while GDB holds the VM.
 *
 * What guest debugging can use under PVM (kvm_pvm, measured on this host
 * kind with a probe; see the README):
 * - KVM_SET_GUEST_DEBUG is accepted, but only KVM_GUESTDBG_SINGLESTEP
 *   does anything, and only in ring 0: sysret/iret back to user mode load
 *   RFLAGS without the TF KVM set, so user code runs unstepped.
 * - KVM_GUESTDBG_USE_SW_BP does not intercept int3: the guest takes #BP
 *   through its own IDT (vector 3, RIP after the int3), as without it.
 * - KVM_GUESTDBG_USE_HW_BP and the guest's own DR0-DR7
 *   (KVM_SET_DEBUGREGS) never trigger.
 * - TF set in the guest's user RFLAGS does trap: #DB through the IDT.
 * - KVM_GET_FPU returns zeros; KVM_GET_XSAVE has the real x87/SSE state.
 * So everything goes through the guest itself: breakpoints are int3
 * bytes (#BP, stub, `out` to the host), single steps are TF in the user
 * RFLAGS (#DB, stub), and the host resumes a stop with an iretq stub.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gdb_vm.h"
#include "kc_gmem.h"
#include "kc_kvm.h"
#include "kc_result.h"
#include "kc_sys.h"
#include "kc_timer.h"
#include "kc_vm.h"
#include "kc_x86.h"

#define TF (1ULL << 8)

/* GDB's signal numbers. */
enum {
	SIG_INT = 2,
	SIG_ILL = 4,
	SIG_TRAP = 5,
	SIG_FPE = 8,
	SIG_KILL = 9,
	SIG_BUS = 10,
	SIG_SEGV = 11,
	SIG_XCPU = 24 /* GDB stops for it; not SIGALRM */
};

int kc_gdb_listen(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, r, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

__attribute__((format(printf, 2, 3))) static void note(struct kc_gdb *g,
                                                       const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (g->cfg->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g->cfg->log(g->cfg->log_ctx, msg);
}

/* ---- the connection ----------------------------------------------------- */

static void send_raw(struct kc_gdb *g, const char *p, size_t len)
{
	while (g->fd >= 0 && len > 0) {
		ssize_t k = send(g->fd, p, len, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			note(g, "GDB took no reply for %.1fs: dropping it",
			     (double)g->cfg->wait_ns / 1e9);
		if (k <= 0) {
			g->lost = true;
			return;
		}
		p += k;
		len -= (size_t)k;
	}
}

static void send_packet(struct kc_gdb *g, const char *payload, size_t len)
{
	g->out_len = kc_gdb_frame(payload, len, g->out, sizeof(g->out));
	send_raw(g, g->out, g->out_len);
}

static void send_stop(struct kc_gdb *g)
{
	char buf[64];

	send_packet(g, buf, kc_gdb_stop_reply(&g->proto, buf, sizeof(buf)));
}

/* Wait for readable fd up to ms (-1: forever); 1 ready, 0 not, -1 when a
 * request timer that counts stopped time ran out (its signal interrupts
 * nothing outside KVM_RUN: the wait ends at its deadline instead). */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	for (;;) {
		int left = kc_vm_timer_left_ms(), t = ms, r;

		if (left >= 0 && (t < 0 || left < t))
			t = left;
		r = poll(&p, 1, t);
		if (r > 0)
			return 1;
		if (kc_vm_timer_fired())
			return -1;
		if (r == 0 && t == ms)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static unsigned listen_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return 0;
	return ntohs(a.sin_port);
}

/* The socket's signal goes to this thread.  In a process of one thread
 * (a kvm-fpm worker) that is F_SETOWN to its own pid: an integer, which
 * the worker's seccomp filter can check (only itself), where
 * F_SETOWN_EX's struct is behind a pointer it cannot read. */
static int own_socket(int fd)
{
	struct f_owner_ex me = {F_OWNER_TID, gettid()};

	if (me.pid == getpid())
		return fcntl(fd, F_SETOWN, me.pid);
	return fcntl(fd, F_SETOWN_EX, &me);
}

/* GDB's ^C, or the connection dropping, while the guest runs: a signal
 * to this thread interrupts KVM_RUN (see kc_vm_debug_signal). */
static void watch_while_running(struct kc_gdb *g)
{
	int sig = kc_vm_debug_signal(), fl = fcntl(g->fd, F_GETFL);

	if (sig < 0 || fl < 0 || own_socket(g->fd) ||
	    fcntl(g->fd, F_SETSIG, sig) || fcntl(g->fd, F_SETFL, fl | O_ASYNC))
		note(g, "cannot watch GDB's connection: ^C will not work");
}

/* Accept GDB within the configured wait.  0, or -1: go on without. */
static int connect_gdb(struct kc_gdb *g, const char *where)
{
	uint64_t ms = g->cfg->wait_ns / 1000000;
	struct timeval send_bound = {
	    .tv_sec = (time_t)(g->cfg->wait_ns / 1000000000),
	    .tv_usec = (suseconds_t)(g->cfg->wait_ns % 1000000000 / 1000)};
	int one = 1;

	if (g->lfd < 0) {
		g->lfd = kc_gdb_listen(g->cfg->port);
		if (g->lfd < 0) {
			note(g,
			     "stopped %s, but 127.0.0.1:%u is busy (%s): "
			     "going on without a debugger",
			     where, g->cfg->port, strerror(-g->lfd));
			return -1;
		}
		g->own_lfd = true;
	}
	note(g, "stopped %s: waiting for GDB on 127.0.0.1:%u for %.1fs", where,
	     listen_port(g->lfd), (double)g->cfg->wait_ns / 1e9);
	if (wait_readable(g->lfd, ms > 0x7fffffff ? 0x7fffffff : (int)ms) <=
	    0) {
		note(g, "no GDB came: going on without a debugger");
		return -1;
	}
	g->fd = accept4(g->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (g->fd < 0)
		return -1;
	setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A debugger that stops reading is dropped after the same wait,
	 * rather than holding the worker in send() for ever. */
	setsockopt(g->fd, SOL_SOCKET, SO_SNDTIMEO, &send_bound,
	           sizeof(send_bound));
	watch_while_running(g);
	memset(&g->rx, 0, sizeof(g->rx));
	g->in_pos = g->in_len = 0;
	g->proto.no_ack = false;
	g->attached = true;
	note(g, "GDB attached");
	return 0;
}

static void disconnect(struct kc_gdb *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	if (g->own_lfd)
		close(g->lfd);
	if (g->own_lfd)
		g->lfd = -1;
	g->own_lfd = false;
}

/* One event from the framer; the action it leads to. */
static enum kc_gdb_action on_event(struct kc_gdb *g, enum kc_gdb_event ev)
{
	enum kc_gdb_action a;
	size_t len;

	switch (ev) {
	case KC_GDB_EV_PACKET:
		if (!g->proto.no_ack)
			send_raw(g, "+", 1);
		a = kc_gdb_handle(&g->proto, g->rx.buf, g->rx.len, g->reply,
		                  &len);
		if (len != SIZE_MAX)
			send_packet(g, g->reply, len);
		return a;
	case KC_GDB_EV_BAD:
		send_raw(g, "-", 1);
		return KC_GDB_NONE;
	case KC_GDB_EV_TOO_LONG:
		if (!g->proto.no_ack)
			send_raw(g, "+", 1);
		send_packet(g, "E01", 3);
		return KC_GDB_NONE;
	case KC_GDB_EV_NACK:
		send_raw(g, g->out, g->out_len);
		return KC_GDB_NONE;
	case KC_GDB_EV_INTERRUPT: /* a ^C that crossed our stop reply */
		return KC_GDB_NONE;
	default:
		return KC_GDB_NONE;
	}
}

/* Serve packets until GDB resumes, detaches or kills; a dropped
 * connection (or a counted timer running out) is a kill. */
static enum kc_gdb_action serve(struct kc_gdb *g)
{
	enum kc_gdb_action a;
	ssize_t k;

	for (;;) {
		while (g->in_pos < g->in_len) {
			a = on_event(
			    g, kc_gdb_rx_byte(&g->rx,
			                      (uint8_t)g->in[g->in_pos++]));
			if (g->lost)
				return KC_GDB_KILL;
			if (a != KC_GDB_NONE)
				return a;
		}
		if (wait_readable(g->fd, -1) < 0)
			return KC_GDB_CONTINUE; /* timed out: the run ends */
		k = read(g->fd, g->in, sizeof(g->in));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			g->lost = true;
			return KC_GDB_KILL;
		}
		g->in_pos = 0;
		g->in_len = (size_t)k;
	}
}

/* ---- stops -------------------------------------------------------------- */

/* The VM is stopped (g->ctx and g->frame set): let GDB have it.  Returns
 * what GDB decided; KC_GDB_DETACH also when no debugger is there. */
static enum kc_gdb_action stopped(struct kc_gdb *g, int sig, bool swbreak,
                                  const char *where)
{
	enum kc_gdb_action a;
	uint64_t left = 0;

	kc_gdb_bp_remove_all(g, true);
	g->stepping = false;
	g->proto.stop = (struct kc_gdb_stop){sig, swbreak, false};
	if (g->detached)
		return KC_GDB_DETACH;
	if (!g->cfg->counts_time)
		left = kc_vm_timer_pause();
	if (g->fd >= 0) {
		send_stop(g); /* GDB has waited for it since c or s */
		a = serve(g);
	} else if (connect_gdb(g, where) == 0) {
		a = serve(g); /* a new GDB asks with `?` */
	} else {
		g->detached = true;
		a = KC_GDB_DETACH;
	}
	if (!g->cfg->counts_time)
		kc_vm_timer_resume(g->vm, left);
	kc_vm_debug_unpoke(g->vm); /* the packets of this stop signalled */
	if (a == KC_GDB_DETACH) {
		kc_gdb_bp_remove_all(g, false);
		disconnect(g);
		g->detached = true;
	}
	return a;
}

static int killed(struct kc_gdb *g)
{
	/* stopped in a stub: reload at reset */
	g->vm->sregs_dirty = g->vm->stopped = true;
	return kc_vm_fail(g->vm, KC_ERR_FAULT, "%s",
	                  g->lost ? "the debugger's connection dropped"
	                          : "killed from the debugger");
}

static int signal_of(unsigned vector)
{
	switch (vector) {
	case 1:
	case 3:
		return SIG_TRAP;
	case 0:
	case 16:
	case 19:
		return SIG_FPE;
	case 6:
		return SIG_ILL;
	case 17:
		return SIG_BUS;
	default:
		return SIG_SEGV;
	}
}

/* Resume from an exception frame through the iretq stub. */
static void resume_exc(struct kc_gdb *g, bool step)
{
	struct kvm_regs *r = &g->vm->run->s.regs.regs;
	uint64_t *f = kc_gdb_iret_frame(g);

	/* The resume stub's iretq goes to user mode with these flags. */
	f[KC_FRAME_RFLAGS] =
	    kc_x86_user_rflags((f[KC_FRAME_RFLAGS] & ~TF) | (step ? TF : 0));
	g->stepping = step;
	r->rip = KC_STUBS_ADDR + KC_STUB_RESUME;
	r->rsp = g->frame;
	g->vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* An exception in user mode: our breakpoint, GDB's single step, or a
 * fault (which stops when GDB is attached or debug_on_fault says so). */
static int kc_gdb_exception(struct kc_vm *vm, unsigned vector)
{
	struct kc_gdb *g = vm->gdb;
	uint64_t *f;
	bool trap = vector == 1 || vector == 3, swbreak = false;
	struct kc_gdb_bp *bp;
	enum kc_gdb_action a;
	const char *where;

	f = kc_gmem_exc_frame(vm->mem, vm->run->s.regs.regs.rsp, vector, NULL);
	if (f == NULL)
		return kc_vm_fault(vm, vector);
	if ((f[KC_FRAME_CS] & 3) != 3) /* in the stubs: nothing to show */
		return kc_vm_fault(vm, vector);
	g->ctx = KC_GDB_CTX_EXC;
	g->frame = (uint64_t)((uint8_t *)f - vm->mem); /* its guest address */
	if (vector == 3 && (bp = kc_gdb_bp_find(g, f[KC_FRAME_RIP] - 1))) {
		/* Back onto the int3: GDB wants the breakpoint's pc. */
		f[KC_FRAME_RIP]--;
		swbreak = true;
		where = bp->temp ? "at my_backend" : "at a breakpoint";
	} else if (vector == 1 && g->stepping) {
		f[KC_FRAME_RFLAGS] &= ~TF;
		where = "after a step";
	} else if (g->fd >= 0 || (g->cfg->stop_on_fault && !trap)) {
		where = "at a fault";
	} else {
		return kc_vm_fault(vm, vector);
	}
	if (!trap)
		g->exit_signal = signal_of(vector);
	a = stopped(g, signal_of(vector), swbreak, where);
	if (a == KC_GDB_KILL)
		return killed(g);
	/* Resuming a fault would only fault again: it ends the request. */
	if (!trap)
		return kc_vm_fault(vm, vector);
	resume_exc(g, a == KC_GDB_STEP);
	return KC_RESUME;
}

static void kc_gdb_breakpoint_call(struct kc_vm *vm)
{
	vm->gdb->break_pending = true;
}

/* A system call or hypercall returned: stop here when GDB is stepping
 * (the call was the step) or breakpoint() was called. */
static int kc_gdb_after_call(struct kc_vm *vm)
{
	struct kc_gdb *g = vm->gdb;
	struct kvm_regs *r = &vm->run->s.regs.regs;
	bool brk = g->break_pending, intr = g->intr_pending;
	enum kc_gdb_action a;

	g->break_pending = g->intr_pending = false;
	if (!g->stepping && !intr &&
	    !(brk && (g->fd >= 0 || g->cfg->stop_on_breakpoint)))
		return KC_RESUME;
	g->ctx = KC_GDB_CTX_CALL;
	a = stopped(g, intr ? SIG_INT : SIG_TRAP, false,
	            brk ? "at breakpoint()" : "after a system call");
	if (a == KC_GDB_KILL)
		return killed(g);
	/* The call returns with r11 as rflags: TF there steps on. */
	r->r11 = (r->r11 & ~TF) | (a == KC_GDB_STEP ? TF : 0);
	g->stepping = a == KC_GDB_STEP;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return KC_RESUME;
}

/* Read what GDB sent while the guest ran, without blocking: true when a
 * ^C is among it; a closed connection sets g->lost. */
static bool read_while_running(struct kc_gdb *g)
{
	bool intr = false;
	ssize_t k;

	memmove(g->in, g->in + g->in_pos, g->in_len - g->in_pos);
	g->in_len -= g->in_pos;
	g->in_pos = 0;
	while (g->in_len < sizeof(g->in)) {
		k = recv(g->fd, g->in + g->in_len, sizeof(g->in) - g->in_len,
		         MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (k <= 0) {
			g->lost = true;
			break;
		}
		intr |= memchr(g->in + g->in_len, 0x03, (size_t)k) != NULL;
		g->in_len += (size_t)k;
	}
	return intr;
}

/* Stopped in user mode with the state in the vCPU's registers. */
static int user_stop(struct kc_gdb *g, int sig, const char *where)
{
	struct kvm_regs *r = &g->vm->run->s.regs.regs;
	enum kc_gdb_action a;

	g->ctx = KC_GDB_CTX_USER;
	a = stopped(g, sig, false, where);
	if (a == KC_GDB_KILL)
		return killed(g);
	r->rflags = (r->rflags & ~TF) | (a == KC_GDB_STEP ? TF : 0);
	g->stepping = a == KC_GDB_STEP;
	g->vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return KC_RESUME;
}

/* GDB's socket signalled while the guest ran: a ^C stops it where it is
 * (or, inside a stub, at the next system call); a dropped connection
 * ends the request at once. */
static int kc_gdb_poked(struct kc_vm *vm)
{
	struct kc_gdb *g = vm->gdb;
	bool intr;

	if (g->fd < 0)
		return KC_RESUME;
	intr = read_while_running(g);
	if (g->lost)
		return killed(g);
	if (!intr)
		return KC_RESUME;
	if (kc_vm_cpl(vm) != 3) {
		g->intr_pending = true;
		return KC_RESUME;
	}
	return user_stop(g, SIG_INT, "interrupted");
}

/* The time limit ran out with GDB attached: show it where the time went
 * before the request ends as timed out. */
static void kc_gdb_timed_out(struct kc_vm *vm)
{
	struct kc_gdb *g = vm->gdb;

	if (g->fd < 0 || g->detached || kc_vm_cpl(vm) != 3)
		return;
	g->exit_signal = SIG_XCPU;
	user_stop(g, SIG_XCPU, "at the time limit");
}

/* The request is over: tell an attached GDB how, and leave no trace. */
static void finish(struct kc_gdb *g, enum kc_status st)
{
	char buf[8];
	int sig = st == KC_ERR_TIMEOUT ? SIG_XCPU
	          : g->exit_signal     ? g->exit_signal
	                               : SIG_KILL;

	kc_gdb_bp_remove_all(g, false);
	if (g->fd >= 0) {
		if (st == KC_OK)
			snprintf(buf, sizeof(buf), "W00");
		else
			snprintf(buf, sizeof(buf), "X%02x", sig);
		send_packet(g, buf, strlen(buf));
	}
	if (g->attached)
		note(g, "debug session over: the request ended with %s",
		     kc_status_name(st));
	disconnect(g);
}

static const struct kc_vm_hooks session_hooks = {
    .after_call = kc_gdb_after_call,
    .exception = kc_gdb_exception,
    .poked = kc_gdb_poked,
    .timed_out = kc_gdb_timed_out,
    .breakpoint_call = kc_gdb_breakpoint_call,
};

enum kc_status kc_vm_request_debug(struct kc_vm *vm,
                                   const struct kc_request *req,
                                   struct kc_result *res,
                                   const struct kc_debug *dbg)
{
	struct kc_gdb *g;
	enum kc_status st;

	/* A VM that was not reset is refused by kc_vm_request, before an
	 * entry breakpoint goes in: the reset would take it out again. */
	if (dbg == NULL || vm->dirty)
		return kc_vm_request(vm, req, res);
	memset(res, 0, offsetof(struct kc_result, error));
	res->error[0] = 0;
	vm->res = res;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return kc_vm_fail(vm, KC_ERR_INTERNAL, "out of memory");
	g->vm = vm;
	g->cfg = dbg;
	g->lfd = dbg->listen_fd;
	g->fd = -1;
	g->proto.ops = &kc_gdb_vm_ops;
	g->proto.target = g;
	if (dbg->stop_at_entry && vm->img->backend)
		kc_gdb_bp_insert(g, vm->img->backend, true);
	vm->gdb = g;
	vm->hooks = &session_hooks;
	st = kc_vm_request(vm, req, res);
	vm->hooks = NULL;
	vm->gdb = NULL;
	finish(g, st);
	free(g);
	return st;
}
