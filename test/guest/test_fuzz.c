/* Guest-side fuzzing: fuzz_calls makes random system calls and hypercalls
 * from a seed; every request must end cleanly and on time, and the next
 * must start from the snapshot (checked by a probe every PROBE_EVERY).
 * KVM_FPM_GUEST_FUZZ_REQUESTS sets how many (make fuzz: thousands),
 * KVM_FPM_GUEST_FUZZ_FIRST the first seed (to replay one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest.h"
#include "kc_result.h"

#define PROGRAM        "build/programs/fuzz_calls"
#define REQUESTS       200 /* in make test: a few seconds */
#define PROBE_EVERY    10
#define REQUEST_TIME   200000000ULL /* ns */
#define TIME_MARGIN_NS 1000000000ULL

struct fuzz_run {
	struct guest g;
	char first_probe[512];
	unsigned long counts[KC_STATUS_MAX];
	unsigned long probes, slowest_ms;
};

static unsigned long env_number(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 10) : def;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* One request: a clean status, a reason for every error, on time, and a
 * VM the reset can bring back. */
static enum kc_status run_one(struct fuzz_run *f, const char *url)
{
	uint64_t t0 = now_ns(), ns;
	enum kc_status st = guest_get(&f->g, url);
	const struct kc_result *r = &f->g.res;

	ns = now_ns() - t0;
	cr_assert_lt(st, KC_STATUS_MAX, "%s: status %d", url, st);
	cr_assert_eq(st, r->status, "%s: returned %d, result says %d", url, st,
	             r->status);
	cr_assert_neq(st, KC_ERR_INTERNAL, "%s: KVM failed: %s", url, r->error);
	if (st == KC_OK)
		cr_assert(r->http_status >= 100 && r->http_status <= 999,
		          "%s: HTTP status %d", url, r->http_status);
	else
		cr_assert(r->error[0], "%s: %s without a reason", url,
		          kc_status_name(st));
	cr_assert_leq(ns, REQUEST_TIME + TIME_MARGIN_NS,
	              "%s: took %llu ms (%s)", url,
	              (unsigned long long)(ns / 1000000), kc_status_name(st));
	if (ns / 1000000 > f->slowest_ms)
		f->slowest_ms = ns / 1000000;
	f->counts[st]++;
	cr_assert_eq(kc_vm_reset(f->g.vm), 0, "%s: the VM could not be reset",
	             url);
	return st;
}

/* The probe's answer: the snapshot's memory, stack and CPU state. */
static void probe(struct fuzz_run *f, unsigned long last_seed)
{
	const char *body;

	cr_assert_eq(guest_get(&f->g, "/probe"), KC_OK, "probe: %s",
	             f->g.res.error);
	body = guest_body(&f->g);
	if (f->probes++ == 0)
		snprintf(f->first_probe, sizeof(f->first_probe), "%s", body);
	else
		cr_assert_str_eq(body, f->first_probe,
		                 "the state after /fuzz/%lu (or one of the %d "
		                 "before) differs from the snapshot's",
		                 last_seed, PROBE_EVERY - 1);
	cr_assert_eq(kc_vm_reset(f->g.vm), 0);
}

Test(guest_fuzz, random_calls_end_cleanly_and_reset, .timeout = 3600)
{
	unsigned long n = env_number("KVM_FPM_GUEST_FUZZ_REQUESTS", REQUESTS);
	unsigned long first = env_number("KVM_FPM_GUEST_FUZZ_FIRST", 1);
	static struct fuzz_run f;
	struct kc_limits lim;
	uint64_t t0 = now_ns();
	char url[64];
	unsigned long i;
	int st;

	kc_limits_default(&lim);
	lim.max_request_time_ns = REQUEST_TIME;
	lim.max_memory = 64ULL << 20;
	lim.max_request_memory = 16ULL << 20;
	guest_boot(&f.g, PROGRAM, &lim);
	cr_assert_eq(f.g.boot, 0, "boot: %s", f.g.err);
	probe(&f, 0);
	for (i = first; i < first + n; i++) {
		snprintf(url, sizeof(url), "/fuzz/%lu", i);
		f.g.output_len = 0; /* the guest's output is noise here */
		run_one(&f, url);
		if ((i - first + 1) % PROBE_EVERY == 0)
			probe(&f, i);
	}
	probe(&f, i - 1);
	fprintf(stderr,
	        "guest fuzz: %lu requests (seeds %lu..%lu) in %.1f s, "
	        "%lu probes equal, slowest %lu ms; statuses:",
	        n, first, first + n - 1, (double)(now_ns() - t0) / 1e9,
	        f.probes, f.slowest_ms);
	for (st = 0; st < KC_STATUS_MAX; st++)
		if (f.counts[st])
			fprintf(stderr, " %s %lu", kc_status_name(st),
			        f.counts[st]);
	fprintf(stderr, "\n");
	guest_free(&f.g);
}
