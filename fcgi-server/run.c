/* `kvm-fpm run`: load a program, run main(), serve one GET per URL and
 * print each response CGI-style, through the same code as the server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "kc.h"
#include "log.h"
#include "program.h"
#include "respond.h"
#include "run.h"

static int write_stdout(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -EIO;
}

static int usage(void)
{
	fprintf(stderr, "usage: kvm-fpm run [--KEY=VALUE...] PROGRAM URL...\n"
	                "  KEY is a tenant setting of the ini file, e.g. "
	                "--max_request_time=0.2 --max_memory=64M\n");
	return 2;
}

/* Apply --KEY=VALUE options; returns the index of PROGRAM or -1. */
static int parse_options(int argc, char **argv, struct fs_tenant_conf *t)
{
	char err[256];
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		char *eq = strchr(argv[i], '=');
		int r;

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

static void serve_url(struct kc_vm *vm, const char *url)
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

	if (kc_vm_request(vm, &req, &res) != KC_OK)
		fprintf(stderr, "kvm-fpm run: %s: %s: %s\n", url,
		        kc_status_name(res.status), res.error);
	fs_write_response(&res, write_stdout, NULL);
	fflush(stdout);
	kc_vm_reset(vm);
}

int fs_run_main(int argc, char **argv)
{
	struct fs_tenant_conf t;
	struct fs_program prog;
	struct kc_image *img;
	struct kc_vm *vm;
	char err[512];
	int i, r;

	fs_conf_tenant_init(&t);
	i = parse_options(argc, argv, &t);
	if (i < 0 || argc - i < 1) {
		fs_conf_tenant_free(&t);
		return i < 0 ? 2 : usage();
	}
	r = kc_init(err, sizeof(err));
	if (r == 0)
		r = fs_program_boot(argv[i], &t.limits, fs_log_guest, argv[i],
		                    &prog, &img, &vm, err, sizeof(err));
	fs_conf_tenant_free(&t);
	if (r) {
		fprintf(stderr, "kvm-fpm run: %s: %s\n", argv[i], err);
		return 1;
	}
	for (i++; i < argc; i++)
		serve_url(vm, argv[i]);
	kc_vm_destroy(vm);
	kc_image_put(img);
	fs_program_free(&prog);
	return 0;
}
