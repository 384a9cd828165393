/* Micro benchmark, in process on one core: the KVM_RUN floor, the cost of a
 * request against it, cold start and host memory per resident VM.  Prints
 * "key value" lines that bench/report.py turns into the table.
 *   micro [-r ROUNDS] [-k PER_ROUND] [-c COLD] [-v VMS] HELLO DIRTY64
 *   micro --loop PROGRAM N    (N requests and nothing else: for strace -c)
 *   micro --hold PROGRAM N    (N VMs kept until a line on stdin: for
 *                              looking at kernel memory from outside)
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"
#include "kc.h"

/* Every ioctl of this process, kvm-core's included: linked with
 * -Wl,--wrap=ioctl (GNUmakefile). */
int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);
static unsigned long ioctl_calls;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	ioctl_calls++;
	return __real_ioctl(fd, req, arg);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "micro: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Samples of one figure, in microseconds. */
struct series {
	double *v;
	size_t n, cap;
};

static void add(struct series *s, double us)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			die("out of memory");
	}
	s->v[s->n++] = us;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(struct series *s, double q)
{
	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	return s->v[(size_t)(q * (double)(s->n - 1) + 0.5)];
}

static void report(const char *key, struct series *s)
{
	printf("%s_us %.2f\n", key, quantile(s, 0.5));
	printf("%s_p10_us %.2f\n", key, quantile(s, 0.1));
	printf("%s_p90_us %.2f\n", key, quantile(s, 0.9));
	printf("%s_samples %zu\n", key, s->n);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	void *buf;

	if (f == NULL || fstat(fileno(f), &st))
		die("%s: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size);
	if (buf == NULL ||
	    fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die("%s: cannot read", path);
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

/* One core, as the spec asks: the last CPU, away from most of the noise
 * that lands on CPU 0. */
static void pin_one_core(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n > 0 ? (int)n - 1 : 0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "micro: cannot pin to one CPU: %s\n",
		        strerror(errno));
	else
		printf("cpu %ld\n", n > 0 ? n - 1 : 0);
}

/* ---- one tenant: boot it, serve requests ------------------------------ */

struct tenant {
	const char *name;
	void *elf;
	size_t len;
	struct kc_image *img;
	struct kc_vm *vm;
	struct series lat;
	unsigned long ioctls;
	struct kc_vm_stats before;
};

static const struct kc_header req_headers[] = {
    {{"host", 4}, {"hello.bench", 11}},
    {{"user-agent", 10}, {"micro", 5}},
    {{"accept", 6}, {"*/*", 3}},
};

static const struct kc_request hello_req = {
    .method = {"GET", 3},
    .uri = {"/", 1},
    .query = {"", 0},
    .remote_addr = {"127.0.0.1", 9},
    .headers = req_headers,
    .header_count = 3,
};

/* Where the server would put the response: collecting it is a copy. */
static char response_buf[1 << 16];

static void tenant_boot(struct tenant *t, const char *path, const char *key)
{
	struct kc_limits lim;
	const char *mib = getenv("MICRO_MAX_MEMORY_MIB");
	char err[256];

	t->name = path;
	t->elf = read_file(path, &t->len);
	kc_limits_default(&lim);
	if (mib) { /* for --hold: how kernel memory scales with it */
		lim.max_memory = strtoull(mib, NULL, 10) << 20;
		lim.stack_size = lim.max_memory / 8;
	}
	if (kc_image_boot(t->elf, t->len, &lim, NULL, NULL, &t->img, &t->vm,
	                  err, sizeof(err)))
		die("%s: %s", path, err);
	kc_vm_stats(t->vm, &t->before);
	if (key) /* the exits of main(), before any request */
		printf("%s_boot_exits %llu\n", key,
		       (unsigned long long)t->before.exits);
}

/* reset + enter + my_backend + collect the response, as one sample. */
static double serve_one(struct kc_vm *vm, const char *name)
{
	struct kc_result res;
	double t0 = now_us(), t1;
	size_t n;

	if (kc_vm_request(vm, &hello_req, &res) != KC_OK ||
	    res.http_status != 200)
		die("%s: request failed: %s", name, res.error);
	n = res.headers.len + res.body.len;
	if (n > sizeof(response_buf))
		die("%s: response too large", name);
	memcpy(response_buf, res.headers.ptr, res.headers.len);
	memcpy(response_buf + res.headers.len, res.body.ptr, res.body.len);
	if (kc_vm_reset(vm))
		die("%s: reset failed", name);
	t1 = now_us();
	return t1 - t0;
}

static void tenant_serve(struct tenant *t, unsigned k)
{
	unsigned long calls = ioctl_calls;
	unsigned i;

	for (i = 0; i < k; i++)
		add(&t->lat, serve_one(t->vm, t->name));
	t->ioctls += ioctl_calls - calls;
}

static void tenant_report(struct tenant *t, const char *key)
{
	struct kc_vm_stats st;
	double n;

	kc_vm_stats(t->vm, &st);
	n = (double)(st.requests - t->before.requests);
	report(key, &t->lat);
	printf("%s_requests %.0f\n", key, n);
	printf("%s_exits %.2f\n", key,
	       (double)(st.exits - t->before.exits) / n);
	printf("%s_pages_restored %.2f\n", key,
	       (double)(st.pages_restored - t->before.pages_restored) / n);
	printf("%s_pages_zeroed %.2f\n", key,
	       (double)(st.pages_zeroed - t->before.pages_zeroed) / n);
	printf("%s_sregs_restores %.2f\n", key,
	       (double)(st.sregs_restores - t->before.sregs_restores) / n);
	printf("%s_fresh_unmaps %.2f\n", key,
	       (double)(st.fresh_unmaps - t->before.fresh_unmaps) / n);
	printf("%s_ioctls %.2f\n", key, (double)t->ioctls / n);
	printf("%s_snapshot_kib %llu\n", key,
	       (unsigned long long)(kc_image_snapshot_bytes(t->img) >> 10));
}

/* ---- 1. floor and per request, interleaved so drift hits all alike ---- */

static void floor_series(struct floor_vm *f, enum floor_kind kind,
                         struct series *s, unsigned k)
{
	unsigned i;

	for (i = 0; i < k; i++) {
		double t0 = now_us();
		int r = floor_round_trip(f, kind);

		if (r)
			die("floor VM (kind %d): %s", kind, strerror(-r));
		add(s, now_us() - t0);
	}
}

static void bench_requests(struct tenant *hello, struct tenant *dirty,
                           unsigned rounds, unsigned k)
{
	struct series raw = {0}, ring0 = {0}, user = {0}, user_out = {0};
	struct series ring0_loop = {0}, user_loop = {0}, user_mmio = {0};
	struct floor_vm f;
	bool user_out_ok;
	unsigned r;

	if (floor_create(&f) || floor_setup(&f))
		die("cannot create the floor VM: %s", strerror(errno));
	/* TinyKVM's hypercall, a user-mode `out` with IOPL 3: does this
	 * host allow it? */
	user_out_ok = floor_round_trip(&f, FLOOR_USER_OUT) == 0;
	if (!user_out_ok)
		printf("floor_user_out_fault_rflags 0x%llx\n",
		       (unsigned long long)floor_fault_rflags(&f));
	/* Warm up: first entries fault in the shadow page tables. */
	floor_series(&f, FLOOR_USER, &user, 200);
	floor_series(&f, FLOOR_RING0, &ring0, 200);
	floor_series(&f, FLOOR_USER_MMIO, &user_mmio, 200);
	tenant_serve(hello, 200);
	tenant_serve(dirty, 200);
	user.n = ring0.n = user_mmio.n = hello->lat.n = dirty->lat.n = 0;
	hello->ioctls = dirty->ioctls = 0;
	kc_vm_stats(hello->vm, &hello->before);
	kc_vm_stats(dirty->vm, &dirty->before);
	for (r = 0; r < rounds; r++) {
		floor_series(&f, FLOOR_RING0_RAW, &raw, k);
		floor_series(&f, FLOOR_RING0, &ring0, k);
		floor_series(&f, FLOOR_USER, &user, k);
		if (user_out_ok)
			floor_series(&f, FLOOR_USER_OUT, &user_out, k);
		floor_series(&f, FLOOR_RING0_LOOP, &ring0_loop, k);
		floor_series(&f, FLOOR_USER_LOOP, &user_loop, k);
		floor_series(&f, FLOOR_USER_MMIO, &user_mmio, k);
		tenant_serve(hello, k);
		tenant_serve(dirty, k);
	}
	floor_destroy(&f);
	report("floor_ring0_raw", &raw);
	report("floor_ring0", &ring0);
	report("floor_user", &user);
	if (user_out_ok)
		report("floor_user_out", &user_out);
	report("floor_ring0_loop", &ring0_loop);
	report("floor_user_loop", &user_loop);
	report("floor_user_mmio", &user_mmio);
	tenant_report(hello, "hello");
	tenant_report(dirty, "dirty64");
}

/* ---- 2. cold start --------------------------------------------------- */

static void bench_cold(struct tenant *hello, unsigned iters)
{
	struct series boot = {0}, bare = {0}, vm = {0};
	struct kc_limits lim;
	char err[256];
	unsigned i;

	kc_limits_default(&lim);
	for (i = 0; i < iters + 2; i++) { /* two for warm-up */
		struct kc_image *img;
		struct kc_vm *v;
		struct floor_vm f;
		double t0 = now_us(), t1;

		if (floor_create(&f))
			die("bare VM: %s", strerror(errno));
		t1 = now_us();
		floor_destroy(&f);
		if (i >= 2)
			add(&bare, t1 - t0);

		t0 = now_us();
		/* As the master boots a tenant: the image, no VM kept. */
		if (kc_image_boot(hello->elf, hello->len, &lim, NULL, NULL,
		                  &img, NULL, err, sizeof(err)))
			die("boot: %s", err);
		t1 = now_us();
		kc_image_put(img);
		if (i >= 2)
			add(&boot, t1 - t0);

		t0 = now_us();
		if (kc_vm_create(hello->img, NULL, NULL, &v, err, sizeof(err)))
			die("kc_vm_create: %s", err);
		t1 = now_us();
		kc_vm_destroy(v);
		if (i >= 2)
			add(&vm, t1 - t0);
	}
	report("cold_boot", &boot);
	report("cold_bare", &bare);
	report("cold_vm", &vm);
}

/* ---- 3. memory per resident VM --------------------------------------- */

struct mem_view {
	long rss_kib;    /* the whole process */
	long guest_kib;  /* mappings of guest memory (memfd kvm-fpm-guest) */
	long vcpu_kib;   /* kvm_run mappings */
	long kernel_kib; /* Slab + PageTables + SecPageTables, machine-wide */
};

static long meminfo_kib(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

static void mem_view(struct mem_view *m)
{
	static char text[1 << 14];
	char line[512];
	long kib, *cur = NULL;
	FILE *f = fopen("/proc/self/smaps", "r");
	size_t n;

	memset(m, 0, sizeof(*m));
	if (f == NULL)
		die("/proc/self/smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %ld kB", &kib) == 1) {
			m->rss_kib += kib;
			if (cur)
				*cur += kib;
		} else if (strchr(line, '-') &&
		           strchr(line, '-') < strchr(line, ' ')) { /* a VMA */
			cur = strstr(line, "kvm-fpm-guest") ? &m->guest_kib
			      : strstr(line, "kvm-vcpu")    ? &m->vcpu_kib
			                                    : NULL;
		}
	}
	fclose(f);
	f = fopen("/proc/meminfo", "r");
	if (f == NULL)
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	m->kernel_kib = meminfo_kib(text, "\nSlab:") +
	                meminfo_kib(text, "\nPageTables:") +
	                meminfo_kib(text, "\nSecPageTables:");
}

/* Requests round-robin over n VMs, as a worker serving n tenants in turn
 * does: what switching VMs costs in KVM and in the caches. */
static void bench_round_robin(struct kc_vm **vms, unsigned nvms)
{
	static const unsigned counts[] = {1, 10, 100};
	unsigned c, i;

	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct series s = {0};
		unsigned n = counts[c] < nvms ? counts[c] : nvms;
		char key[32];

		for (i = 0; i < 2 * n; i++) /* warm-up */
			serve_one(vms[i % n], "hello");
		for (i = 0; i < 3000; i++)
			add(&s, serve_one(vms[i % n], "hello"));
		snprintf(key, sizeof(key), "rr%u", counts[c]);
		report(key, &s);
		free(s.v);
	}
}

static void bench_memory(struct tenant *hello, unsigned nvms)
{
	struct kc_vm **vms = calloc(nvms, sizeof(*vms));
	struct mem_view a, b;
	char err[256];
	unsigned i;

	if (vms == NULL)
		die("out of memory");
	/* One VM created and dropped first: allocator arenas and the like
	 * are not per-VM costs. */
	if (kc_vm_create(hello->img, NULL, NULL, &vms[0], err, sizeof(err)))
		die("kc_vm_create: %s", err);
	serve_one(vms[0], "hello");
	kc_vm_destroy(vms[0]);
	mem_view(&a);
	for (i = 0; i < nvms; i++) {
		if (kc_vm_create(hello->img, NULL, NULL, &vms[i], err,
		                 sizeof(err)))
			die("kc_vm_create #%u: %s", i, err);
		serve_one(vms[i], "hello"); /* resident: has served */
	}
	mem_view(&b);
	printf("mem_vms %u\n", nvms);
	printf("mem_rss_per_vm_kib %.1f\n",
	       (double)(b.rss_kib - a.rss_kib) / nvms);
	printf("mem_guest_per_vm_kib %.1f\n",
	       (double)(b.guest_kib - a.guest_kib) / nvms);
	printf("mem_beyond_per_vm_kib %.1f\n",
	       (double)((b.rss_kib - b.guest_kib) - (a.rss_kib - a.guest_kib)) /
	           nvms);
	printf("mem_vcpu_map_per_vm_kib %.1f\n",
	       (double)(b.vcpu_kib - a.vcpu_kib) / nvms);
	printf("mem_kernel_per_vm_kib %.1f\n",
	       (double)(b.kernel_kib - a.kernel_kib) / nvms);
	bench_round_robin(vms, nvms);
	for (i = 0; i < nvms; i++)
		kc_vm_destroy(vms[i]);
	free(vms);
}

/* The same with n tenants booted in this process, each an image of its
 * own with its VM: what a tenant costs where nothing is shared. */
static void bench_memory_tenants(struct tenant *hello, unsigned n)
{
	struct kc_image **imgs = calloc(n, sizeof(*imgs));
	struct kc_vm **vms = calloc(n, sizeof(*vms));
	struct kc_limits lim;
	struct mem_view a, b;
	char err[256];
	unsigned i;

	if (imgs == NULL || vms == NULL)
		die("out of memory");
	kc_limits_default(&lim);
	mem_view(&a);
	for (i = 0; i < n; i++) {
		if (kc_image_boot(hello->elf, hello->len, &lim, NULL, NULL,
		                  &imgs[i], &vms[i], err, sizeof(err)))
			die("boot #%u: %s", i, err);
		serve_one(vms[i], "hello");
	}
	mem_view(&b);
	printf("mem_tenants %u\n", n);
	printf("mem_tenants_rss_kib %.1f\n",
	       (double)(b.rss_kib - a.rss_kib) / n);
	printf("mem_tenants_guest_kib %.1f\n",
	       (double)(b.guest_kib - a.guest_kib) / n);
	printf("mem_tenants_beyond_kib %.1f\n",
	       (double)((b.rss_kib - b.guest_kib) - (a.rss_kib - a.guest_kib)) /
	           n);
	for (i = 0; i < n; i++) {
		kc_vm_destroy(vms[i]);
		kc_image_put(imgs[i]);
	}
	free(vms);
	free(imgs);
}

/* ---- main ------------------------------------------------------------ */

static unsigned arg_num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == 0 || *end || v > 1000000)
		die("bad number '%s'", s);
	return (unsigned)v;
}

/* For strace -c: boot, then n requests, nothing else. */
static int loop_only(const char *path, unsigned n)
{
	struct tenant t = {0};

	tenant_boot(&t, path, NULL);
	while (n--)
		serve_one(t.vm, path);
	return 0;
}

/* For looking at kernel memory from outside: n VMs of path, each having
 * served one request, held until a line arrives on stdin. */
static int hold_resident(const char *path, unsigned n)
{
	struct tenant t = {0};
	char err[256], line[16];
	struct kc_vm *vm;

	tenant_boot(&t, path, NULL);
	while (n--) {
		if (kc_vm_create(t.img, NULL, NULL, &vm, err, sizeof(err)))
			die("kc_vm_create: %s", err);
		serve_one(vm, path);
	}
	printf("resident\n");
	fflush(stdout);
	return fgets(line, sizeof(line), stdin) ? 0 : 0;
}

int main(int argc, char **argv)
{
	unsigned rounds = 20, k = 250, cold = 20, nvms = 200;
	struct tenant hello = {0}, dirty = {0};
	char err[256];
	int c;

	if (kc_init(err, sizeof(err)))
		die("%s", err);
	if (argc == 4 && strcmp(argv[1], "--loop") == 0)
		return loop_only(argv[2], arg_num(argv[3]));
	if (argc == 4 && strcmp(argv[1], "--hold") == 0)
		return hold_resident(argv[2], arg_num(argv[3]));
	while ((c = getopt(argc, argv, "r:k:c:v:")) != -1) {
		switch (c) {
		case 'r':
			rounds = arg_num(optarg);
			break;
		case 'k':
			k = arg_num(optarg);
			break;
		case 'c':
			cold = arg_num(optarg);
			break;
		case 'v':
			nvms = arg_num(optarg);
			break;
		default:
			die("usage: micro [-r rounds] [-k per round] [-c cold] "
			    "[-v vms] HELLO DIRTY64");
		}
	}
	if (argc - optind != 2 || rounds == 0 || k == 0 || nvms == 0)
		die("usage: micro [-r rounds] [-k per round] [-c cold] "
		    "[-v vms] HELLO DIRTY64");
	if (floor_init())
		die("cannot open /dev/kvm: %s", strerror(errno));
	pin_one_core();
	tenant_boot(&hello, argv[optind], "hello");
	tenant_boot(&dirty, argv[optind + 1], "dirty64");
	bench_requests(&hello, &dirty, rounds, k);
	bench_cold(&hello, cold);
	bench_memory(&hello, nvms);
	bench_memory_tenants(&hello, nvms);
	fflush(stdout);
	return 0;
}
