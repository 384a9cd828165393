/* `kvm-fpm run`: load a program, run main(), serve one GET per URL and
 * print each response CGI-style, through the same code as the server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "escape.h"
#include "kc.h"
#include "log.h"
#include "program.h"
#include "respond.h"
#include "run.h"
#include "values.h"

#define DEBUG_PORT_DEFAULT 2159

static int write_stdout(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -EIO;
}

static int usage(void)
{
	fprintf(stderr, "usage: kvm-fpm run [--KEY=VALUE...] PROGRAM URL...\n"
	                "  KEY is a tenant setting of the ini file, e.g. "
	                "--max_request_time=0.2 --max_memory=64M\n"
	                "  --allow_debug=yes stops each URL at my_backend for "
	                "GDB on 127.0.0.1:2159 (--debug_port=N)\n");
	return 2;
}

/* Apply --KEY=VALUE options (and --debug_port, a global key, into
 * *port); returns the index of PROGRAM or -1. */
static int parse_options(int argc, char **argv, struct fs_tenant_conf *t,
                         uint64_t *port)
{
	char err[256];
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		char *eq = strchr(argv[i], '=');
		int r;

		if (strncmp(argv[i], "--debug_port=", 13) == 0) {
			if (fs_parse_uint(argv[i] + 13, port) == 0 &&
			    *port > 0 && *port <= 65535)
				continue;
			fprintf(stderr, "kvm-fpm run: bad --debug_port\n");
			return -1;
		}
		if (eq == NULL) {
			fprintf(stderr,
			        "kvm-fpm run: %s: expected --KEY=VALUE\n",
			        argv[i]);
			return -1;
		}
		*eq = 0;
		r = fs_conf_tenant_set(t, argv[i] + 2, eq + 1, err,
		                       sizeof(err));
		*eq = '=';
		if (r) {
			fprintf(stderr, "kvm-fpm run: %s\n", err);
			return -1;
		}
	}
	return i;
}

static void log_debug(void *ctx, const char *msg)
{
	fprintf(stderr, "kvm-fpm run: %s: %s\n", (const char *)ctx, msg);
}

/* With allow_debug every URL stops at my_backend and waits for GDB. */
static void debug_setup(struct kc_debug *d, const struct fs_tenant_conf *t,
                        uint64_t port, const char *program)
{
	memset(d, 0, sizeof(*d));
	d->listen_fd = -1;
	d->port = (uint16_t)port;
	d->wait_ns = t->debug_wait_ns;
	d->counts_time = t->debug_counts_time;
	d->stop_at_entry = true;
	d->stop_on_breakpoint = true;
	d->stop_on_fault = t->debug_on_fault;
	d->log = log_debug;
	d->log_ctx = (void *)program;
}

/* One URL, answered on stdout, then the reset.  0, or -1 when the VM
 * could not be reset (said on stderr): it must not serve another. */
static int serve_url(struct kc_vm *vm, const char *url,
                     const struct kc_debug *dbg)
{
	const char *q = strchr(url, '?');
	struct kc_header host = {{"host", 4}, {"localhost", 9}};
	struct kc_request req = {
	    .method = {"GET", 3},
	    .uri = {url, strlen(url)},
	    .query = {q ? q + 1 : "", q ? strlen(q + 1) : 0},
	    .remote_addr = {"127.0.0.1", 9},
	    .headers = &host,
	    .header_count = 1,
	};
	struct kc_result res;
	char u[512], e[1024];
	int r;

	if (kc_vm_request_debug(vm, &req, &res, dbg) != KC_OK) {
		/* The URL and the reason (a symbol name) may hold anything:
		 * one line, escaped as in the server's log. */
		fs_escape(u, sizeof(u), url, strlen(url), "");
		fs_escape(e, sizeof(e), res.error, strlen(res.error), "");
		fprintf(stderr, "kvm-fpm run: %s: %s: %s\n", u,
		        kc_status_name(res.status), e);
	}
	fs_write_response(&res, write_stdout, NULL);
	fflush(stdout);
	r = kc_vm_reset(vm);
	if (r)
		fprintf(stderr, "kvm-fpm run: the VM could not be reset: %s\n",
		        strerror(-r));
	return r ? -1 : 0;
}

int fs_run_main(int argc, char **argv)
{
	uint64_t port = DEBUG_PORT_DEFAULT;
	struct fs_tenant_conf t;
	struct fs_program prog;
	struct kc_image *img;
	struct kc_debug dbg;
	bool debug;
	struct kc_vm *vm;
	char err[512];
	int i, r;

	fs_conf_tenant_init(&t);
	i = parse_options(argc, argv, &t, &port);
	if (i < 0 || argc - i < 1) {
		fs_conf_tenant_free(&t);
		return i < 0 ? 2 : usage();
	}
	debug = t.allow_debug;
	debug_setup(&dbg, &t, port, argv[i]);
	r = kc_init(err, sizeof(err));
	if (r == 0)
		r = fs_program_boot(argv[i], &t.limits, fs_log_guest, argv[i],
		                    &prog, &img, &vm, err, sizeof(err));
	fs_conf_tenant_free(&t);
	if (r) {
		fprintf(stderr, "kvm-fpm run: %s: %s\n", argv[i], err);
		return 1;
	}
	for (r = 0, i++; i < argc && r == 0; i++)
		r = serve_url(vm, argv[i], debug ? &dbg : NULL);
	kc_vm_destroy(vm);
	kc_image_put(img);
	fs_program_free(&prog);
	return r ? 1 : 0;
}
