/* Unit tests for the shared scoreboard and the status page formats. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scoreboard.h"
#include "status.h"

#define PER_CHILD 10000
#define KB        1024

/*
 * Request i of a child: 1% are 504 timeouts that take 2000 + 1000 * child
 * + i / 100 us (so the max is 3099 us), the rest take 100 us: 500 fault,
 * 502 oom, 404, 302 and 200 in known proportions.
 */
static void one_request(struct fs_scoreboard *sb, unsigned slot, int a,
                        unsigned i)
{
	uint64_t us = 100;
	enum fs_sb_kind kind = FS_SB_OK;
	int status = 200;

	if (i % 100 == 99) {
		status = 504;
		kind = FS_SB_TIMEOUT;
		us = 2000 + 1000 * slot + i / 100;
	} else if (i % 50 == 1) {
		status = 500;
		kind = FS_SB_FAULT;
	} else if (i % 50 == 2) {
		status = 502;
		kind = FS_SB_OOM;
	} else if (i % 10 == 3) {
		status = 404;
	} else if (i % 10 == 5) {
		status = 302;
	}
	fs_sb_request_begin(sb, slot, a);
	/* +999 ns: latency rounds down to whole microseconds. */
	fs_sb_request_end(sb, slot, a, status, kind, us * 1000 + 999);
}

/* The body of worker child `slot`: it leaves its VMs behind on exit. */
static void child(struct fs_scoreboard *sb, unsigned slot, int a, int b)
{
	fs_sb_worker_start(sb, slot, getpid());
	for (unsigned i = 0; i < PER_CHILD; i++)
		one_request(sb, slot, a, i);
	if (slot == 0) {
		for (unsigned i = 0; i < 7; i++) {
			fs_sb_request_begin(sb, slot, -1);
			fs_sb_request_end(sb, slot, -1, 404, FS_SB_OK, 5000);
		}
		for (unsigned i = 0; i < 3; i++) {
			fs_sb_request_begin(sb, slot, b);
			fs_sb_request_end(sb, slot, b, 200, FS_SB_OK,
			                  (1 + 2 * i) * 1000);
		}
		fs_sb_vms(sb, slot, a, 2, 16 * KB);
		fs_sb_vms(sb, slot, a, -1, -8 * KB);
	} else {
		fs_sb_vms(sb, slot, a, 2, 8 * KB);
		fs_sb_vms(sb, slot, b, 1, 1000);
	}
}

/* Two worker processes at once, as the prefork server runs them. */
static struct fs_scoreboard *run_workload(int *a, int *b)
{
	struct fs_scoreboard *sb = fs_sb_create(4, 4);
	pid_t pids[2];
	int st;

	cr_assert_not_null(sb);
	cr_assert_eq(fs_sb_set_pool(sb, "www"), 0);
	*a = fs_sb_tenant_slot(sb, "a.example");
	*b = fs_sb_tenant_slot(sb, "b.example");
	cr_assert_eq(*a, 0);
	cr_assert_eq(*b, 1);
	for (unsigned c = 0; c < 2; c++) {
		pids[c] = fork();
		cr_assert_geq(pids[c], 0);
		if (pids[c] == 0) {
			child(sb, c, *a, *b);
			_exit(0);
		}
	}
	for (unsigned c = 0; c < 2; c++) {
		cr_assert_eq(waitpid(pids[c], &st, 0), pids[c]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	fs_sb_set_listen_queue(sb, 5);
	fs_sb_set_listen_queue(sb, 12);
	fs_sb_set_listen_queue(sb, 3);
	return sb;
}

Test(scoreboard, concurrent_totals)
{
	struct fs_sb_snapshot s;
	struct fs_sb_tenant_snap *ta, *tb;
	int a, b;
	struct fs_scoreboard *sb = run_workload(&a, &b);

	cr_assert_eq(fs_sb_snapshot(sb, &s), 0);
	cr_assert_str_eq(s.pool, "www");
	cr_assert_eq(s.accepted, 20010);
	cr_assert_eq(s.listen_queue, 3);
	cr_assert_eq(s.max_listen_queue, 12);
	cr_assert_eq(s.idle, 2);
	cr_assert_eq(s.active, 0);
	cr_assert_eq(s.total, 2);
	cr_assert_eq(s.nworkers, 4);
	cr_assert_eq(s.workers[0].requests, 10010);
	cr_assert_eq(s.workers[1].requests, 10000);
	cr_assert_eq(s.workers[0].vms, 1);
	cr_assert_eq(s.workers[1].vm_bytes, 8 * KB + 1000);
	cr_assert_eq(s.workers[2].state, FS_SB_EMPTY);
	cr_assert_eq(s.ntenants, 2);
	ta = &s.tenants[0];
	tb = &s.tenants[1];
	cr_assert_str_eq(ta->name, "a.example");
	cr_assert_eq(ta->requests, 20000);
	cr_assert_eq(ta->status[1], 0);
	cr_assert_eq(ta->status[2], 15000);
	cr_assert_eq(ta->status[3], 2000);
	cr_assert_eq(ta->status[4], 2000);
	cr_assert_eq(ta->status[5], 1000);
	cr_assert_eq(ta->timeouts, 200);
	cr_assert_eq(ta->faults, 400);
	cr_assert_eq(ta->oom, 400);
	/* 19800 x 100 + 100 x (2000 + 2000 + 1000) + 2 x 4950 */
	cr_assert_eq(ta->latency_sum_us, 2489900);
	cr_assert_eq(ta->latency_avg_us, 124);
	cr_assert_eq(ta->latency_max_us, 3099);
	cr_assert_eq(ta->hist[6], 19800); /* 100 us is in [64, 128) */
	cr_assert_eq(ta->latency_p99_us, 128);
	cr_assert_eq(ta->vms, 3);
	cr_assert_eq(ta->vm_bytes, 16 * KB);
	cr_assert_str_eq(tb->name, "b.example");
	cr_assert_eq(tb->requests, 3);
	cr_assert_eq(tb->status[2], 3);
	cr_assert_eq(tb->latency_sum_us, 9);
	cr_assert_eq(tb->latency_max_us, 5);
	/* 3 requests: p99 is the top one's bucket [4, 8), capped at max. */
	cr_assert_eq(tb->latency_p99_us, 5);
	cr_assert_eq(tb->vms, 1);
	fs_sb_snapshot_free(&s);
	fs_sb_destroy(sb);
}

Test(scoreboard, dead_worker_and_busy)
{
	struct fs_sb_snapshot s;
	int a, b;
	struct fs_scoreboard *sb = run_workload(&a, &b);

	fs_sb_worker_gone(sb, 1);
	fs_sb_worker_start(sb, 2, 4242);
	fs_sb_request_begin(sb, 2, a);
	cr_assert_eq(fs_sb_snapshot(sb, &s), 0);
	cr_assert_eq(s.accepted, 20011);
	cr_assert_eq(s.idle, 1);
	cr_assert_eq(s.active, 1);
	cr_assert_eq(s.total, 2);
	cr_assert_eq(s.workers[1].state, FS_SB_EMPTY);
	cr_assert_eq(s.workers[2].state, FS_SB_BUSY);
	cr_assert_eq(s.workers[2].pid, 4242);
	cr_assert_eq(s.workers[2].tenant, a);
	/* The dead worker's VMs left the tenant totals. */
	cr_assert_eq(s.tenants[0].vms, 1);
	cr_assert_eq(s.tenants[0].vm_bytes, 8 * KB);
	cr_assert_eq(s.tenants[0].active, 1);
	cr_assert_eq(s.tenants[1].vms, 0);
	cr_assert_eq(s.tenants[1].active, 0);
	/* A request in flight is not yet counted for its tenant. */
	cr_assert_eq(s.tenants[0].requests, 20000);
	fs_sb_snapshot_free(&s);
	fs_sb_destroy(sb);
}

Test(scoreboard, tenant_slots)
{
	struct fs_scoreboard *sb = fs_sb_create(1, 3);
	struct fs_sb_snapshot s;
	char name[FS_SB_NAME_MAX + 2];

	cr_assert_not_null(sb);
	cr_assert_eq(fs_sb_tenant_slot(sb, "a"), 0);
	cr_assert_eq(fs_sb_tenant_slot(sb, "b"), 1);
	cr_assert_eq(fs_sb_tenant_slot(sb, "a"), 0);
	cr_assert_eq(fs_sb_tenant_slot(sb, "c"), 2);
	cr_assert_eq(fs_sb_tenant_slot(sb, "d"), -ENOSPC);
	cr_assert_eq(fs_sb_tenant_slot(sb, ""), -EINVAL);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert_eq(fs_sb_tenant_slot(sb, name), -ENAMETOOLONG);
	/* b's counters do not follow its slot to d. */
	fs_sb_request_end(sb, 0, 1, 200, FS_SB_OK, 1000);
	fs_sb_request_end(sb, 0, 0, 200, FS_SB_OK, 1000);
	fs_sb_request_end(sb, 0, -1, 200, FS_SB_OK, 1000);
	fs_sb_request_end(sb, 0, 3, 200, FS_SB_OK, 1000);
	fs_sb_request_end(sb, 7, 0, 200, FS_SB_OK, 1000);
	fs_sb_tenant_release(sb, 1);
	cr_assert_eq(fs_sb_tenant_slot(sb, "d"), 1);
	name[FS_SB_NAME_MAX] = '\0';
	cr_assert_eq(fs_sb_tenant_slot(sb, name), -ENOSPC);
	cr_assert_eq(fs_sb_snapshot(sb, &s), 0);
	cr_assert_eq(s.ntenants, 3);
	cr_assert_str_eq(s.tenants[0].name, "a");
	cr_assert_eq(s.tenants[0].requests, 2);
	cr_assert_str_eq(s.tenants[1].name, "d");
	cr_assert_eq(s.tenants[1].index, 1);
	cr_assert_eq(s.tenants[1].requests, 0);
	cr_assert_str_eq(s.tenants[2].name, "c");
	cr_assert_eq(s.workers[0].requests, 4);
	fs_sb_snapshot_free(&s);
	/* A 253-byte name fits once there is room. */
	fs_sb_tenant_release(sb, 2);
	cr_assert_eq(fs_sb_tenant_slot(sb, name), 2);
	cr_assert_eq(fs_sb_snapshot(sb, &s), 0);
	cr_assert_str_eq(s.tenants[2].name, name);
	fs_sb_snapshot_free(&s);
	fs_sb_destroy(sb);
}

/* A compromised worker writes every byte it shares with the master;
 * what the master does next stays in the mapping, names stay strings. */
Test(scoreboard, a_worker_writing_all_of_it_moves_nothing_of_the_masters)
{
	struct fs_scoreboard *sb = fs_sb_create(2, 2);
	struct fs_sb_snapshot s;
	size_t size;
	void *shared;
	pid_t pid;
	int st;

	cr_assert_not_null(sb);
	cr_assert_eq(fs_sb_tenant_slot(sb, "a"), 0);
	fs_sb_worker_start(sb, 0, 4242);
	shared = fs_sb_shared(sb, &size);
	pid = fork();
	if (pid == 0) {
		memset(shared, 0x41, size);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	/* the master's side: a worker gone, another started, a slot */
	fs_sb_worker_gone(sb, 0);
	fs_sb_worker_start(sb, 1, 4343);
	fs_sb_request_begin(sb, 1, 0);
	fs_sb_request_end(sb, 1, 0, 200, FS_SB_OK, 1000);
	fs_sb_set_listen_queue(sb, 3);
	cr_assert_eq(fs_sb_tenant_slot(sb, "b"), -ENOSPC);
	fs_sb_tenant_release(sb, 1);
	cr_assert_eq(fs_sb_tenant_slot(sb, "b"), 1);
	cr_assert_eq(fs_sb_snapshot(sb, &s), 0);
	cr_assert_eq(s.nworkers, 2);
	cr_assert_eq(strlen(s.pool), FS_SB_POOL_MAX);
	cr_assert_eq(s.workers[1].pid, 4343);
	/* a's slot reads as being rewritten for ever (an odd seqlock): the
	 * status page leaves it out; b's, rewritten by the master, reads */
	cr_assert_eq(s.ntenants, 1);
	cr_assert_str_eq(s.tenants[0].name, "b");
	fs_sb_snapshot_free(&s);
	fs_sb_destroy(sb);
}

Test(scoreboard, create_limits)
{
	errno = 0;
	cr_assert_null(fs_sb_create(0, 4));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(fs_sb_create(60000, 60000));
	cr_assert_eq(errno, E2BIG);
	fs_sb_destroy(NULL);
}

/* A fixed snapshot: the renderer is a pure function of it. */
static struct fs_sb_tenant_snap fake_tenants[2];

static struct fs_sb_snapshot fake_snapshot(const char *second_name)
{
	struct fs_sb_snapshot s = {
	    .pool = "www",
	    .start_time = 1700000000,
	    .start_since = 42,
	    .accepted = 20010,
	    .listen_queue = 3,
	    .max_listen_queue = 12,
	    .idle = 1,
	    .active = 1,
	    .total = 2,
	    .ntenants = second_name ? 2 : 1,
	    .tenants = fake_tenants,
	};
	struct fs_sb_tenant_snap *t = &fake_tenants[0];

	memset(fake_tenants, 0, sizeof(fake_tenants));
	strcpy(t->name, "a.example");
	t->requests = 20000;
	t->status[2] = 15000;
	t->status[3] = 2000;
	t->status[4] = 2000;
	t->status[5] = 1000;
	t->timeouts = 200;
	t->faults = 400;
	t->oom = 400;
	t->active = 1;
	t->latency_sum_us = 2489900;
	t->latency_avg_us = 124;
	t->latency_max_us = 3099;
	t->latency_p99_us = 128;
	t->vms = 3;
	t->vm_bytes = 16384;
	t->uploads = 2;
	if (second_name) {
		strcpy(fake_tenants[1].name, second_name);
		fake_tenants[1].requests = 7;
	}
	return s;
}

static char *render(const struct fs_sb_snapshot *s, enum fs_status_format f)
{
	char *out = NULL;
	size_t len = 0;

	cr_assert_eq(fs_status_render(s, f, &out, &len), 0);
	cr_assert_not_null(out);
	cr_assert_eq(strlen(out), len);
	return out;
}

static void set_utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

Test(status, text_exact, .init = set_utc)
{
	struct fs_sb_snapshot s = fake_snapshot(NULL);
	char *out = render(&s, FS_STATUS_TEXT);

	cr_assert_str_eq(out,
	                 "pool:                 www\n"
	                 "start time:           14/Nov/2023:22:13:20 +0000\n"
	                 "start since:          42\n"
	                 "accepted conn:        20010\n"
	                 "listen queue:         3\n"
	                 "max listen queue:     12\n"
	                 "idle processes:       1\n"
	                 "active processes:     1\n"
	                 "total processes:      2\n"
	                 "\n"
	                 "tenant:               a.example\n"
	                 "requests:             20000\n"
	                 "responses 1xx:        0\n"
	                 "responses 2xx:        15000\n"
	                 "responses 3xx:        2000\n"
	                 "responses 4xx:        2000\n"
	                 "responses 5xx:        1000\n"
	                 "timeouts:             200\n"
	                 "faults:               400\n"
	                 "oom:                  400\n"
	                 "busy processes:       1\n"
	                 "latency sum (us):     2489900\n"
	                 "latency avg (us):     124\n"
	                 "latency max (us):     3099\n"
	                 "latency p99 (us):     128\n"
	                 "resident vms:         3\n"
	                 "resident vm bytes:    16384\n"
	                 "uploads:              2\n");
	free(out);
}

Test(status, openmetrics_exact)
{
	struct fs_sb_snapshot s = fake_snapshot(NULL);
	char *out = render(&s, FS_STATUS_OPENMETRICS);

	cr_assert_str_eq(
	    out,
	    "# TYPE kvmfpm_pool info\n"
	    "# HELP kvmfpm_pool The pool name.\n"
	    "kvmfpm_pool_info{pool=\"www\"} 1\n"
	    "# TYPE kvmfpm_start_time_seconds gauge\n"
	    "# UNIT kvmfpm_start_time_seconds seconds\n"
	    "# HELP kvmfpm_start_time_seconds When the master started.\n"
	    "kvmfpm_start_time_seconds 1700000000\n"
	    "# TYPE kvmfpm_accepted_connections counter\n"
	    "# HELP kvmfpm_accepted_connections Requests accepted by the "
	    "workers.\n"
	    "kvmfpm_accepted_connections_total 20010\n"
	    "# TYPE kvmfpm_listen_queue gauge\n"
	    "# HELP kvmfpm_listen_queue Connections waiting in the listen "
	    "backlog.\n"
	    "kvmfpm_listen_queue 3\n"
	    "# TYPE kvmfpm_listen_queue_max gauge\n"
	    "# HELP kvmfpm_listen_queue_max Longest listen backlog seen.\n"
	    "kvmfpm_listen_queue_max 12\n"
	    "# TYPE kvmfpm_processes gauge\n"
	    "# HELP kvmfpm_processes Worker processes by state.\n"
	    "kvmfpm_processes{state=\"idle\"} 1\n"
	    "kvmfpm_processes{state=\"active\"} 1\n"
	    "# TYPE kvmfpm_requests counter\n"
	    "# HELP kvmfpm_requests Requests completed.\n"
	    "kvmfpm_requests_total{tenant=\"a.example\"} 20000\n"
	    "# TYPE kvmfpm_responses counter\n"
	    "# HELP kvmfpm_responses Responses by status class.\n"
	    "kvmfpm_responses_total{tenant=\"a.example\",class=\"1xx\"} 0\n"
	    "kvmfpm_responses_total{tenant=\"a.example\",class=\"2xx\"} 15000\n"
	    "kvmfpm_responses_total{tenant=\"a.example\",class=\"3xx\"} 2000\n"
	    "kvmfpm_responses_total{tenant=\"a.example\",class=\"4xx\"} 2000\n"
	    "kvmfpm_responses_total{tenant=\"a.example\",class=\"5xx\"} 1000\n"
	    "# TYPE kvmfpm_timeouts counter\n"
	    "# HELP kvmfpm_timeouts Requests stopped at max_request_time.\n"
	    "kvmfpm_timeouts_total{tenant=\"a.example\"} 200\n"
	    "# TYPE kvmfpm_faults counter\n"
	    "# HELP kvmfpm_faults Requests ended by a guest fault or bad "
	    "pointer.\n"
	    "kvmfpm_faults_total{tenant=\"a.example\"} 400\n"
	    "# TYPE kvmfpm_oom counter\n"
	    "# HELP kvmfpm_oom Requests ended by guest memory exhaustion.\n"
	    "kvmfpm_oom_total{tenant=\"a.example\"} 400\n"
	    "# TYPE kvmfpm_tenant_processes gauge\n"
	    "# HELP kvmfpm_tenant_processes Worker processes serving the "
	    "tenant now.\n"
	    "kvmfpm_tenant_processes{tenant=\"a.example\"} 1\n"
	    "# TYPE kvmfpm_latency_seconds counter\n"
	    "# UNIT kvmfpm_latency_seconds seconds\n"
	    "# HELP kvmfpm_latency_seconds Total time spent on completed "
	    "requests.\n"
	    "kvmfpm_latency_seconds_total{tenant=\"a.example\"} 2.489900\n"
	    "# TYPE kvmfpm_latency_max_seconds gauge\n"
	    "# UNIT kvmfpm_latency_max_seconds seconds\n"
	    "# HELP kvmfpm_latency_max_seconds Longest request.\n"
	    "kvmfpm_latency_max_seconds{tenant=\"a.example\"} 0.003099\n"
	    "# TYPE kvmfpm_latency_p99_seconds gauge\n"
	    "# UNIT kvmfpm_latency_p99_seconds seconds\n"
	    "# HELP kvmfpm_latency_p99_seconds 99th percentile request time "
	    "(upper histogram bucket edge).\n"
	    "kvmfpm_latency_p99_seconds{tenant=\"a.example\"} 0.000128\n"
	    "# TYPE kvmfpm_resident_vms gauge\n"
	    "# HELP kvmfpm_resident_vms VMs kept loaded by the workers.\n"
	    "kvmfpm_resident_vms{tenant=\"a.example\"} 3\n"
	    "# TYPE kvmfpm_resident_vm_bytes gauge\n"
	    "# UNIT kvmfpm_resident_vm_bytes bytes\n"
	    "# HELP kvmfpm_resident_vm_bytes Guest memory of the resident "
	    "VMs.\n"
	    "kvmfpm_resident_vm_bytes{tenant=\"a.example\"} 16384\n"
	    "# TYPE kvmfpm_uploads counter\n"
	    "# HELP kvmfpm_uploads Programs made live by an upload since the "
	    "master started.\n"
	    "kvmfpm_uploads_total{tenant=\"a.example\"} 2\n"
	    "# EOF\n");
	free(out);
}

/* Samples of one family stay together with two tenants; names escaped. */
Test(status, openmetrics_two_tenants_escaped)
{
	struct fs_sb_snapshot s = fake_snapshot("q\"x\\y\nz");
	char *out = render(&s, FS_STATUS_OPENMETRICS);
	size_t n = strlen(out);

	cr_assert(strstr(out,
	                 "kvmfpm_requests_total{tenant=\"a.example\"} "
	                 "20000\n"
	                 "kvmfpm_requests_total{tenant=\"q\\\"x\\\\y\\nz\"} "
	                 "7\n# TYPE kvmfpm_responses counter\n"),
	          "%s", out);
	cr_assert(strstr(out, "kvmfpm_responses_total{tenant=\"q\\\"x\\\\y\\nz"
	                      "\",class=\"5xx\"} 0\n# TYPE kvmfpm_timeouts"),
	          "%s", out);
	cr_assert(n > 6 && !strcmp(out + n - 6, "# EOF\n"));
	free(out);
}

Test(status, text_escaped_name)
{
	struct fs_sb_snapshot s = fake_snapshot("q\"x\\y\nz");
	char *out = render(&s, FS_STATUS_TEXT);

	cr_assert(strstr(out, "\n\ntenant:               q\"x\\y?z\n"
	                      "requests:             7\n"),
	          "%s", out);
	free(out);
}

/* Structural check that needs no JSON parser: quotes pair up, braces and
 * brackets nest. */
static bool json_balanced(const char *p)
{
	char stack[16];
	int depth = 0;
	bool in_str = false;

	for (; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (*p == '{' || *p == '[') {
			if (depth == (int)sizeof(stack))
				return false;
			stack[depth++] = *p == '{' ? '}' : ']';
		} else if (*p == '}' || *p == ']') {
			if (depth == 0 || stack[--depth] != *p)
				return false;
		}
	}
	return depth == 0 && !in_str;
}

/* Parse json with Python and evaluate check on it (bound to d). */
static void python_json_check(const char *json, const char *check)
{
	char path[] = "/tmp/test_status_XXXXXX", cmd[1024];
	int fd = mkstemp(path), rc;
	FILE *f;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		cr_log_warn("python3 not found: JSON checked for balance only");
		return;
	}
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(json, f);
	fclose(f);
	/* The check goes through the environment: no shell quoting. */
	setenv("STATUS_CHECK", check, 1);
	snprintf(
	    cmd, sizeof(cmd),
	    "python3 -c 'import json,os,sys; d=json.load(open(sys.argv[1]));"
	    " sys.exit(0 if eval(os.environ[\"STATUS_CHECK\"]) else 1)' %s",
	    path);
	rc = system(cmd);
	unlink(path);
	cr_assert_eq(rc, 0, "python check failed: %s\n%s", check, json);
}

Test(status, json)
{
	struct fs_sb_snapshot s = fake_snapshot("q\"x\\y\nz");
	char *out = render(&s, FS_STATUS_JSON);

	cr_assert(json_balanced(out), "%s", out);
	cr_assert(
	    !strncmp(out, "{\"pool\":\"www\",\"start_time\":1700000000,", 38),
	    "%s", out);
	cr_assert(strstr(out, "\"tenants\":[{\"name\":\"a.example\","
	                      "\"requests\":20000,\"responses_1xx\":0,"
	                      "\"responses_2xx\":15000,"),
	          "%s", out);
	cr_assert(strstr(out, "\"resident_vm_bytes\":16384,\"uploads\":2},"
	                      "{\"name\":"
	                      "\"q\\\"x\\\\y\\nz\",\"requests\":7,"),
	          "%s", out);
	cr_assert(!strcmp(out + strlen(out) - 4, "}]}\n"), "%s", out);
	python_json_check(out,
	                  "d['accepted_conn'] == 20010 and "
	                  "d['max_listen_queue'] == 12 and "
	                  "len(d['tenants']) == 2 and "
	                  "d['tenants'][0]['latency_p99_us'] == 128 and "
	                  "d['tenants'][1]['name'] == \"q\\\"x\\\\y\\nz\"");
	free(out);
}

Test(status, json_no_tenants)
{
	struct fs_sb_snapshot s = fake_snapshot(NULL);
	char *out;

	s.ntenants = 0;
	out = render(&s, FS_STATUS_JSON);
	cr_assert(strstr(out, "\"total_processes\":2,\"tenants\":[]}\n"), "%s",
	          out);
	cr_assert(json_balanced(out));
	free(out);
}

/* From the real scoreboard the workers filled, in all three formats. */
Test(status, from_scoreboard)
{
	struct fs_sb_snapshot s;
	char *text, *json, *om;
	int a, b;
	struct fs_scoreboard *sb = run_workload(&a, &b);

	cr_assert_eq(fs_sb_snapshot(sb, &s), 0);
	text = render(&s, FS_STATUS_TEXT);
	json = render(&s, FS_STATUS_JSON);
	om = render(&s, FS_STATUS_OPENMETRICS);
	cr_assert(strstr(text, "\naccepted conn:        20010\n"), "%s", text);
	cr_assert(strstr(text, "\nmax listen queue:     12\n"), "%s", text);
	cr_assert(strstr(text, "\ntenant:               b.example\n"
	                       "requests:             3\n"),
	          "%s", text);
	cr_assert(strstr(om, "kvmfpm_requests_total{tenant=\"a.example\"} "
	                     "20000\n"),
	          "%s", om);
	cr_assert(strstr(om, "kvmfpm_latency_p99_seconds{tenant=\"a.example\"}"
	                     " 0.000128\n"),
	          "%s", om);
	cr_assert(strstr(om, "kvmfpm_processes{state=\"idle\"} 2\n"), "%s", om);
	cr_assert(!strcmp(om + strlen(om) - 6, "# EOF\n"));
	python_json_check(json, "d['pool'] == 'www' and "
	                        "d['tenants'][0]['responses_5xx'] == 1000 and "
	                        "d['tenants'][0]['latency_max_us'] == 3099 and "
	                        "d['tenants'][1]['resident_vms'] == 1");
	free(text);
	free(json);
	free(om);
	fs_sb_snapshot_free(&s);
	fs_sb_destroy(sb);
}

Test(status, format_from_query)
{
	cr_assert_eq(fs_status_format_from_query(NULL), FS_STATUS_TEXT);
	cr_assert_eq(fs_status_format_from_query(""), FS_STATUS_TEXT);
	cr_assert_eq(fs_status_format_from_query("json"), FS_STATUS_JSON);
	cr_assert_eq(fs_status_format_from_query("full&json"), FS_STATUS_JSON);
	cr_assert_eq(fs_status_format_from_query("json&full"), FS_STATUS_JSON);
	cr_assert_eq(fs_status_format_from_query("openmetrics"),
	             FS_STATUS_OPENMETRICS);
	cr_assert_eq(fs_status_format_from_query("&&openmetrics&"),
	             FS_STATUS_OPENMETRICS);
	cr_assert_eq(fs_status_format_from_query("jsonx"), FS_STATUS_TEXT);
	cr_assert_eq(fs_status_format_from_query("xjson&full"), FS_STATUS_TEXT);
	cr_assert_eq(fs_status_format_from_query("html"), FS_STATUS_TEXT);
	cr_assert_eq(fs_status_render(NULL, FS_STATUS_FORMAT_MAX, NULL, NULL),
	             -EINVAL);
}
