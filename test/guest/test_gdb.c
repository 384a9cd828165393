/* Guest tests for the GDB stub: a client thread speaks raw packets over
 * loopback TCP to a request running under kc_vm_request_debug. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest.h"
#include "gdb.h"
#include "kc_elf.h"
#include "kc_vm.h"

#define P(name) "build/programs/" name

/* ---- a tiny GDB client ---- */

struct client {
	int fd;
	char buf[8192];
	size_t len;
};

static void c_send(struct client *c, const char *payload)
{
	char pkt[8192];
	unsigned sum = 0;
	size_t i, n = strlen(payload);

	for (i = 0; i < n; i++)
		sum += (unsigned char)payload[i];
	snprintf(pkt, sizeof(pkt), "$%s#%02x", payload, sum & 0xff);
	cr_assert_eq(write(c->fd, pkt, strlen(pkt)), (ssize_t)strlen(pkt));
}

/* The next packet's payload (acks skipped); "" when the line closed. */
static const char *c_recv(struct client *c)
{
	static char payload[8192];

	for (;;) {
		char *start = memchr(c->buf, '$', c->len), *end;
		ssize_t k;

		end = start ? memchr(start, '#',
		                     c->len - (size_t)(start - c->buf))
		            : NULL;
		if (end && end + 3 <= c->buf + c->len) {
			size_t n = (size_t)(end - start - 1);

			memcpy(payload, start + 1, n);
			payload[n] = 0;
			c->len -= (size_t)(end + 3 - c->buf);
			memmove(c->buf, end + 3, c->len);
			if (write(c->fd, "+", 1) != 1)
				return "";
			return payload;
		}
		k = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
		if (k <= 0)
			return "";
		c->len += (size_t)k;
	}
}

static const char *c_ask(struct client *c, const char *payload)
{
	c_send(c, payload);
	return c_recv(c);
}

/* Register n (a 64-bit one) from a `p` reply. */
static uint64_t c_reg(struct client *c, unsigned n)
{
	char req[16];
	const char *hex;
	uint64_t v = 0;
	int i;

	snprintf(req, sizeof(req), "p%x", n);
	hex = c_ask(c, req);
	cr_assert_eq(strlen(hex), 16, "p%x: %s", n, hex);
	for (i = 7; i >= 0; i--) {
		unsigned byte;

		sscanf(hex + 2 * i, "%2x", &byte);
		v = (v << 8) | byte;
	}
	return v;
}

/* ---- a request under the debugger, in this thread; the client in
 * another ---- */

static atomic_bool request_ended;

struct session {
	struct guest g;
	struct kc_debug dbg;
	int port;
	void (*script)(struct client *c, struct session *s);
	uint64_t addr;    /* for the scripts */
	uint64_t wait_ns; /* the debugger's wait, when not 5 s */
	char log[2048];
};

static void log_line(void *ctx, const char *msg)
{
	struct session *s = ctx;

	strncat(s->log, msg, sizeof(s->log) - strlen(s->log) - 2);
	strcat(s->log, "\n");
}

static void *client_thread(void *arg)
{
	struct session *s = arg;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)s->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct client c = {.fd = socket(AF_INET, SOCK_STREAM, 0)};

	cr_assert_eq(connect(c.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	s->script(&c, s);
	close(c.fd);
	return NULL;
}

static enum kc_status run_session(struct session *s, const char *url)
{
	struct kc_request req = guest_request(url);
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	pthread_t t;
	enum kc_status st;

	s->dbg.listen_fd = kc_gdb_listen(0);
	cr_assert_geq(s->dbg.listen_fd, 0);
	getsockname(s->dbg.listen_fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	s->dbg.wait_ns = s->wait_ns ? s->wait_ns : 5000000000ULL;
	s->dbg.log = log_line;
	s->dbg.log_ctx = s;
	pthread_create(&t, NULL, client_thread, s);
	st = kc_vm_request_debug(s->g.vm, &req, &s->g.res, &s->dbg);
	atomic_store(&request_ended, true);
	pthread_join(t, NULL);
	close(s->dbg.listen_fd);
	return st;
}

static uint64_t symbol(struct guest *g, const char *name)
{
	const struct kc_symtab *tab = &g->img->syms;
	size_t i;

	for (i = 0; i < tab->count; i++)
		if (strcmp(tab->names + tab->syms[i].name, name) == 0)
			return tab->syms[i].addr;
	cr_assert_fail("no symbol %s", name);
	return 0;
}

/* ---- scripts ---- */

static void inspect_break_step(struct client *c, struct session *s)
{
	struct kc_vm *vm = s->g.vm;
	char req[64], url[64];
	const char *r;
	uint64_t rdi, rip, bp = s->addr;
	size_t i, n;

	cr_assert(strstr(c_ask(c, "qSupported:swbreak+"), "PacketSize="));
	cr_assert_str_eq(c_ask(c, "?"), "T05thread:1;swbreak:;");
	cr_assert_eq(strlen(c_ask(c, "g")), 2 * KC_GDB_REGS_SIZE);
	cr_assert_eq(c_reg(c, KC_GDB_RIP), vm->img->backend, "at my_backend");
	/* my_backend(url): the URL from guest memory through rdi */
	rdi = c_reg(c, KC_GDB_RDI);
	snprintf(req, sizeof(req), "m%llx,a", (unsigned long long)rdi);
	r = c_ask(c, req);
	n = strlen(r) / 2;
	for (i = 0; i < n; i++) {
		unsigned byte;

		sscanf(r + 2 * i, "%2x", &byte);
		url[i] = (char)byte;
	}
	url[n] = 0;
	cr_assert_str_eq(url, "/guest?q=1");
	/* a breakpoint, hidden from memory reads, hit by continue */
	snprintf(req, sizeof(req), "m%llx,1", (unsigned long long)bp);
	strcpy(url, c_ask(c, req));
	snprintf(req, sizeof(req), "Z0,%llx,1", (unsigned long long)bp);
	cr_assert_str_eq(c_ask(c, req), "OK");
	cr_assert_eq(vm->mem[bp], 0xcc);
	snprintf(req, sizeof(req), "m%llx,1", (unsigned long long)bp);
	cr_assert_str_eq(c_ask(c, req), url, "int3 hidden");
	cr_assert_str_eq(c_ask(c, "c"), "T05thread:1;swbreak:;");
	cr_assert_eq(c_reg(c, KC_GDB_RIP), bp);
	/* GDB steps off a breakpoint with it removed */
	snprintf(req, sizeof(req), "z0,%llx,1", (unsigned long long)bp);
	cr_assert_str_eq(c_ask(c, req), "OK");
	cr_assert_str_eq(c_ask(c, "s"), "T05thread:1;");
	rip = c_reg(c, KC_GDB_RIP);
	cr_assert(rip > bp && rip < bp + 16, "one instruction: %llx",
	          (unsigned long long)rip);
	cr_assert_str_eq(c_ask(c, "vCont;s:1"), "T05thread:1;");
	cr_assert_neq(c_reg(c, KC_GDB_RIP), rip);
	cr_assert_str_eq(c_ask(c, "c"), "W00");
}

Test(gdb_guest, stop_inspect_break_step_continue)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, "tenant-sdk/examples/hello", NULL);
	cr_assert_eq(s.g.boot, 0, "%s", s.g.err);
	s.dbg.stop_at_entry = true;
	s.addr = symbol(&s.g, "backend_response");
	s.script = inspect_break_step;
	cr_assert_eq(run_session(&s, "/guest?q=1"), KC_OK, "%s", s.g.res.error);
	cr_assert(strstr(guest_body(&s.g), "/guest?q=1"));
	cr_assert(strstr(s.log, "waiting for GDB on 127.0.0.1:"), "%s", s.log);
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	/* the VM is exactly the snapshot again: no int3 left behind */
	cr_assert_eq(s.g.vm->mem[s.addr], s.g.img->snap[s.addr]);
	cr_assert_eq(s.g.vm->mem[s.g.img->backend],
	             s.g.img->snap[s.g.img->backend]);
	cr_assert_eq(guest_get(&s.g, "/plain"), KC_OK);
	cr_assert(strstr(guest_body(&s.g), "/plain"));
	guest_free(&s.g);
}

/* Single steps all the way through printf's write system calls to the
 * response: steps across the hypercall path end in the exit. */
static void step_to_the_end(struct client *c, struct session *s)
{
	const char *r = c_ask(c, "?");
	unsigned steps = 0;

	(void)s;
	cr_assert_str_eq(r, "T05thread:1;swbreak:;");
	do {
		r = c_ask(c, "s");
		steps++;
	} while (strcmp(r, "T05thread:1;") == 0 && steps < 200000);
	cr_assert_str_eq(r, "W00", "after %u steps: %s", steps, r);
	cr_assert_gt(steps, 100);
}

Test(gdb_guest, step_through_system_calls)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("printf"), NULL);
	s.dbg.stop_at_entry = true;
	s.script = step_to_the_end;
	cr_assert_eq(run_session(&s, "/"), KC_OK, "%s", s.g.res.error);
	cr_assert_str_eq(guest_body(&s.g), "printed");
	cr_assert(strstr(s.g.output, "hello from guest 42"));
	guest_free(&s.g);
}

static void malformed_then_kill(struct client *c, struct session *s)
{
	char big[6000];

	(void)s;
	cr_assert_eq(write(c->fd, "$?#00", 5), 5); /* bad checksum */
	cr_assert_eq(read(c->fd, big, 1), 1);
	cr_assert_eq(big[0], '-');
	cr_assert_str_eq(c_ask(c, "mzz,4"), "E01");
	cr_assert_str_eq(c_ask(c, "m10,4"), "E0e");      /* page 0 */
	cr_assert_str_eq(c_ask(c, "M4000,1:cc"), "E0e"); /* ring-0 stubs */
	cr_assert_str_eq(c_ask(c, "M401000,1:zz"), "E01");
	cr_assert_str_eq(c_ask(c, "P12=23000000"), "E16"); /* cs */
	cr_assert_str_eq(c_ask(c, "Z0,4020,1"), "E0e");
	cr_assert_str_eq(c_ask(c, "qUnknown"), "");
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cr_assert_str_eq(c_ask(c, big), "E01");
	c_send(c, "k");
}

Test(gdb_guest, malformed_packets_then_kill)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("ok"), NULL);
	s.dbg.stop_at_entry = true;
	s.script = malformed_then_kill;
	cr_assert_eq(run_session(&s, "/"), KC_ERR_FAULT);
	cr_assert(strstr(s.g.res.error, "killed from the debugger"));
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	cr_assert_eq(guest_get(&s.g, "/"), KC_OK, "%s", s.g.res.error);
	guest_free(&s.g);
}

static void at_breakpoint_call(struct client *c, struct session *s)
{
	(void)s;
	cr_assert_str_eq(c_ask(c, "?"), "T05thread:1;");
	cr_assert_str_eq(c_ask(c, "D"), "OK");
}

Test(gdb_guest, breakpoint_call_stops_and_detach_finishes)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("breakpoint"), NULL);
	s.dbg.stop_on_breakpoint = true;
	s.script = at_breakpoint_call;
	cr_assert_eq(run_session(&s, "/"), KC_OK, "%s", s.g.res.error);
	cr_assert_str_eq(guest_body(&s.g), "after breakpoint");
	cr_assert(strstr(s.log, "stopped at breakpoint()"), "%s", s.log);
	guest_free(&s.g);
}

static void drop(struct client *c, struct session *s)
{
	(void)s;
	cr_assert_str_eq(c_ask(c, "?"), "T0bthread:1;");
	c_send(c, "m401000,4");
	/* and go away without reading the answer */
}

Test(gdb_guest, fault_stop_then_dropped_connection)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("null_write"), NULL);
	s.dbg.stop_on_fault = true;
	s.script = drop;
	cr_assert_eq(run_session(&s, "/"), KC_ERR_FAULT);
	cr_assert(strstr(s.g.res.error, "connection dropped"), "%s",
	          s.g.res.error);
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	cr_assert_eq(guest_get(&s.g, "/"), KC_ERR_FAULT);
	cr_assert(strstr(s.g.res.error, "page fault"), "%s", s.g.res.error);
	guest_free(&s.g);
}

/* A debugger that asks and stops reading.  Its socket is non-blocking:
 * it asks until the worker stops taking its packets (send buffers full
 * both ways), then waits for the request to end.  A worker that waits
 * in send() for ever never ends it: the wait gives up (a bound for a
 * hang, far above the 1 s under test) and closes, which fails the test. */
static bool ended_by_the_worker;

static void asks_and_reads_nothing(struct client *c, struct session *s)
{
	int i, rcv = 4096, fl = fcntl(c->fd, F_GETFL);
	struct pollfd p = {c->fd, POLLOUT, 0};

	(void)s;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		if (send(c->fd, "$g#67", 5, MSG_NOSIGNAL) == 5)
			continue;
		if (errno != EAGAIN || poll(&p, 1, 2000) != 1)
			break;
	}
	for (i = 0; i < 1200 && !atomic_load(&request_ended); i++)
		usleep(50000);
	ended_by_the_worker = atomic_load(&request_ended);
}

Test(gdb_guest, a_debugger_that_stops_reading_is_dropped)
{
	struct session s;
	enum kc_status st;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("ok"), NULL);
	s.dbg.stop_at_entry = true;
	s.script = asks_and_reads_nothing;
	s.wait_ns = 1000000000ULL;
	atomic_store(&request_ended, false);
	st = run_session(&s, "/");
	cr_assert(ended_by_the_worker, "the worker waited in send() for ever");
	cr_assert_eq(st, KC_ERR_FAULT);
	cr_assert(strstr(s.g.res.error, "connection dropped"), "%s",
	          s.g.res.error);
	cr_assert(strstr(s.log, "GDB took no reply for 1.0s: dropping it"),
	          "%s", s.log);
	guest_free(&s.g);
}

Test(gdb_guest, no_debugger_is_a_plain_request)
{
	struct guest g;

	guest_boot(&g, P("breakpoint"), NULL);
	cr_assert_eq(kc_vm_request_debug(g.vm,
	                                 &(struct kc_request){
	                                     .method = {"GET", 3},
	                                     .uri = {"/", 1},
	                                 },
	                                 &g.res, NULL),
	             KC_OK);
	cr_assert_str_eq(guest_body(&g), "after breakpoint");
	guest_free(&g);
}

static void at_entry_continue(struct client *c, struct session *s)
{
	cr_assert_str_eq(c_ask(c, "?"), "T05thread:1;swbreak:;");
	cr_assert_eq(c_reg(c, KC_GDB_RIP), s->g.img->backend, "at my_backend");
	cr_assert_str_eq(c_ask(c, "c"), "W00");
}

/* The entry breakpoint goes into a VM that was reset, or into none: a
 * debug request on a VM that ran since its reset is refused before any
 * int3 is written, and after the reset it stops at my_backend. */
Test(gdb_guest, unreset_vm_refused_then_entry_stop_after_reset)
{
	struct kc_request req = guest_request("/first");
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, "tenant-sdk/examples/hello", NULL);
	cr_assert_eq(guest_get(&s.g, "/plain"), KC_OK, "%s", s.g.res.error);
	s.dbg.listen_fd = -1; /* refused before it would be used */
	s.dbg.stop_at_entry = true;
	cr_assert_eq(kc_vm_request_debug(s.g.vm, &req, &s.g.res, &s.dbg),
	             KC_ERR_INTERNAL);
	cr_assert(strstr(s.g.res.error, "not reset"), "%s", s.g.res.error);
	cr_assert_eq(s.g.vm->mem[s.g.img->backend],
	             s.g.img->snap[s.g.img->backend], "no int3 written");
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	s.script = at_entry_continue;
	cr_assert_eq(run_session(&s, "/second"), KC_OK, "%s", s.g.res.error);
	cr_assert(strstr(guest_body(&s.g), "/second"), "%s", guest_body(&s.g));
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	guest_free(&s.g);
}

static void sit_idle(struct client *c, struct session *s)
{
	(void)s;
	cr_assert_str_eq(c_ask(c, "?"), "T05thread:1;swbreak:;");
	usleep(400 * 1000);                 /* over max_request_time, stopped */
	cr_assert_str_eq(c_recv(c), "X18"); /* SIGXCPU: timed out */
}

Test(gdb_guest, stopped_time_counts_when_asked)
{
	struct kc_limits lim;
	struct session s;

	kc_limits_default(&lim);
	lim.max_request_time_ns = 200 * 1000 * 1000;
	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("ok"), &lim);
	s.dbg.stop_at_entry = true;
	s.dbg.counts_time = true;
	s.script = sit_idle;
	cr_assert_eq(run_session(&s, "/"), KC_ERR_TIMEOUT, "%s", s.g.res.error);
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	cr_assert_eq(guest_get(&s.g, "/"), KC_OK, "%s", s.g.res.error);
	guest_free(&s.g);
}

static void read_xmm(struct client *c, struct session *s)
{
	char req[64];

	cr_assert_str_eq(c_ask(c, "?"), "T05thread:1;swbreak:;");
	snprintf(req, sizeof(req), "Z0,%llx,1", (unsigned long long)s->addr);
	cr_assert_str_eq(c_ask(c, req), "OK");
	cr_assert_str_eq(c_ask(c, "c"), "T05thread:1;swbreak:;");
	/* scale(97.0, 2.0): xmm0 and xmm1 hold the arguments */
	snprintf(req, sizeof(req), "p%x", KC_GDB_XMM0);
	cr_assert_str_eq(c_ask(c, req), "00000000004058400000000000000000");
	snprintf(req, sizeof(req), "p%x", KC_GDB_XMM0 + 1);
	cr_assert_str_eq(c_ask(c, req), "00000000000000400000000000000000");
	snprintf(req, sizeof(req), "p%x", KC_GDB_MXCSR);
	cr_assert_str_eq(c_ask(c, req), "801f0000");
	cr_assert_str_eq(c_ask(c, "D"), "OK");
}

Test(gdb_guest, sse_registers)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("float_arg"), NULL);
	s.dbg.stop_at_entry = true;
	s.addr = symbol(&s.g, "scale");
	s.script = read_xmm;
	cr_assert_eq(run_session(&s, "/ac"), KC_OK, "%s", s.g.res.error);
	cr_assert_str_eq(guest_body(&s.g), "194.50");
	guest_free(&s.g);
}

Test(gdb_guest, nobody_comes_the_request_runs_as_usual)
{
	struct kc_request req = {.method = {"GET", 3}, .uri = {"/late", 5}};
	struct session s;

	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, "tenant-sdk/examples/hello", NULL);
	s.dbg.listen_fd = kc_gdb_listen(0);
	s.dbg.wait_ns = 100 * 1000 * 1000;
	s.dbg.stop_at_entry = true;
	s.dbg.log = log_line;
	s.dbg.log_ctx = &s;
	cr_assert_eq(kc_vm_request_debug(s.g.vm, &req, &s.g.res, &s.dbg), KC_OK,
	             "%s", s.g.res.error);
	close(s.dbg.listen_fd);
	cr_assert(strstr(guest_body(&s.g), "/late"));
	cr_assert(strstr(s.log, "no GDB came"), "%s", s.log);
	/* the entry breakpoint is gone before the reset */
	cr_assert_eq(s.g.vm->mem[s.g.img->backend],
	             s.g.img->snap[s.g.img->backend]);
	guest_free(&s.g);
}

static void interrupt_loop(struct client *c, struct session *s)
{
	cr_assert_str_eq(c_ask(c, "?"), "T05thread:1;swbreak:;");
	c_send(c, "c");
	usleep(100 * 1000);
	cr_assert_eq(write(c->fd, "\x03", 1), 1); /* GDB's ^C */
	cr_assert_str_eq(c_recv(c), "T02thread:1;");
	/* the loop is a jump to itself at my_backend */
	cr_assert_eq(c_reg(c, KC_GDB_RIP), s->g.img->backend);
	cr_assert_str_eq(c_ask(c, "s"), "T05thread:1;");
	cr_assert_eq(c_reg(c, KC_GDB_RIP), s->g.img->backend);
	/* running out of time stops once more, with SIGXCPU */
	cr_assert_str_eq(c_ask(c, "c"), "T18thread:1;");
	cr_assert_str_eq(c_ask(c, "c"), "X18");
}

Test(gdb_guest, interrupt_and_time_limit_stop)
{
	struct kc_limits lim;
	struct session s;

	kc_limits_default(&lim);
	lim.max_request_time_ns = 500 * 1000 * 1000;
	memset(&s, 0, sizeof(s));
	guest_boot(&s.g, P("loop"), &lim);
	s.dbg.stop_at_entry = true;
	s.script = interrupt_loop;
	cr_assert_eq(run_session(&s, "/"), KC_ERR_TIMEOUT, "%s", s.g.res.error);
	cr_assert_eq(kc_vm_reset(s.g.vm), 0);
	cr_assert_eq(guest_get(&s.g, "/"), KC_ERR_TIMEOUT);
	guest_free(&s.g);
}
