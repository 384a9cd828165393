/* Guest test helpers: the programs run through kvm-core as the server
 * runs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "program.h"

void guest_require_kvm(void)
{
	char err[256];
	const char *ci = getenv("CI");

	if (kc_init(err, sizeof(err)) == 0)
		return;
	if (ci && strcmp(ci, "true") == 0)
		cr_assert_fail("KVM is required under CI: %s", err);
	cr_skip_test("no KVM here: %s", err);
}

/* KVM_FPM_TEST_TIME_SCALE: how many times slower than a real host this
 * one is (an emulated CPU, scripts/in-kvm-vm.sh); 1 when unset. */
static unsigned long long time_scale(void)
{
	const char *s = getenv("KVM_FPM_TEST_TIME_SCALE");
	long v = s ? strtol(s, NULL, 10) : 1;

	return v > 1 ? (unsigned long long)v : 1;
}

void guest_limits_default(struct kc_limits *lim)
{
	kc_limits_default(lim);
	lim->max_request_time_ns *= time_scale();
	lim->max_boot_time_ns *= time_scale();
}

static void capture(void *ctx, int fd, const char *line, size_t len)
{
	struct guest *g = ctx;
	int n = snprintf(g->output + g->output_len,
	                 sizeof(g->output) - g->output_len, "%d:%.*s\n", fd,
	                 (int)len, line);

	if (n > 0 && (size_t)n < sizeof(g->output) - g->output_len)
		g->output_len += (size_t)n;
}

void guest_boot(struct guest *g, const char *path, const struct kc_limits *lim)
{
	struct fs_program prog;
	struct kc_limits def;

	guest_require_kvm();
	memset(g, 0, sizeof(*g));
	if (lim == NULL) {
		guest_limits_default(&def);
		lim = &def;
	}
	g->boot = fs_program_boot(path, lim, capture, g, &prog, &g->img, &g->vm,
	                          g->err, sizeof(g->err));
	if (g->boot == 0)
		fs_program_free(&prog);
}

struct kc_request guest_request(const char *url)
{
	const char *q = strchr(url, '?');

	return (struct kc_request){
	    .method = {"GET", 3},
	    .uri = {url, strlen(url)},
	    .query = {q ? q + 1 : "", q ? strlen(q + 1) : 0},
	    .remote_addr = {"127.0.0.1", 9},
	};
}

enum kc_status guest_get(struct guest *g, const char *url)
{
	struct kc_request req = guest_request(url);

	cr_assert_eq(g->boot, 0, "boot failed: %s", g->err);
	return kc_vm_request(g->vm, &req, &g->res);
}

const char *guest_body(struct guest *g)
{
	static char buf[1 << 16];
	size_t n = g->res.body.len < sizeof(buf) - 1 ? g->res.body.len
	                                             : sizeof(buf) - 1;

	memcpy(buf, g->res.body.ptr, n);
	buf[n] = 0;
	return buf;
}

void guest_free(struct guest *g)
{
	if (g->vm)
		kc_vm_destroy(g->vm);
	if (g->img)
		kc_image_put(g->img);
	memset(g, 0, sizeof(*g));
}

#ifdef __SANITIZE_ADDRESS__
/* ASan keeps freed blocks in a quarantine (to catch later use) and grows
 * with it; this returns them and its caches (libasan, no header of its
 * own in gcc's set). */
void __sanitizer_purge_allocator(void);
#endif

long guest_rss_kib(void)
{
	FILE *f;
	long pages = 0, rss = 0;

#ifdef __SANITIZE_ADDRESS__
	__sanitizer_purge_allocator();
#endif
	f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4;
}

bool guest_emulator_error(const struct guest *g)
{
	if (time_scale() == 1)
		return false;
	return (g->res.status == KC_ERR_TIMEOUT &&
	        strstr(g->res.error, "at RIP 0xffff") != NULL) ||
	       (g->res.status == KC_ERR_FAULT &&
	        strstr(g->res.error, "triple fault") != NULL);
}
