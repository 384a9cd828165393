/* Shared scoreboard: lock-free counters in a MAP_SHARED page set. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "scoreboard.h"

#define RELAXED      __ATOMIC_RELAXED
#define SB_LIMIT     (1u << 16)     /* slots of each kind */
#define SB_MAX_BYTES (256ull << 20) /* the whole mapping */
#define SB_SEQ_TRIES 10000          /* a snapshot gives up on a slot */
#define SB_ALIGN(n)  (((n) + 63) & ~(size_t)63) /* keep slots on cache lines */

/* Per-tenant counters, one array so a reused slot zeroes in one loop. */
enum {
	C_REQUESTS,
	C_STATUS, /* 6 of them, indexed by status / 100 (0: out of range) */
	C_TIMEOUTS = C_STATUS + 6,
	C_FAULTS,
	C_OOM,
	C_LAT_SUM,
	C_LAT_MAX,
	C_HIST, /* FS_SB_BUCKETS of them */
	C_COUNT = C_HIST + FS_SB_BUCKETS,
};

/* One process; only that process writes it, except the master's resets. */
struct sb_worker {
	int32_t pid, state, tenant;
	uint64_t requests, req_start_ns, start_time;
} __attribute__((aligned(64)));

/* A seqlock guards name and used against the master reusing the slot
 * while a worker takes a snapshot; counters are plain atomics. */
struct sb_tenant {
	uint32_t seq, used;
	char name[FS_SB_NAME_MAX + 1];
	uint64_t c[C_COUNT];
	uint64_t program; /* bumped by each live update */
} __attribute__((aligned(64)));

/* Resident VMs of one tenant in one worker (a max_workers x max_tenants
 * matrix), so the master can drop a dead worker's share. */
struct sb_vms {
	uint64_t count, bytes;
};

/* The pool's figures, first in the shared mapping.  Plain data: no
 * process takes a size or an address from shared memory. */
struct sb_head {
	char pool[FS_SB_POOL_MAX + 1];
	uint64_t start_time, accepted;
	uint32_t listen_queue, max_listen_queue;
	uint32_t store_waiting; /* fs_sb_set_store_waiting */
};

/* Each process's own handle (malloc'd before fork, so a private copy in
 * every worker): the sizes and addresses the master indexes with stay
 * out of the memory workers write, where a compromised worker could
 * point the master's next write anywhere. */
struct fs_scoreboard {
	size_t size;
	unsigned max_workers, max_tenants;
	struct sb_head *head;
	struct sb_worker *workers;
	struct sb_tenant *tenants;
	struct sb_vms *vms;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_s(void)
{
	time_t now = time(NULL);

	return now > 0 ? (uint64_t)now : 0;
}

struct fs_scoreboard *fs_sb_create(unsigned max_workers, unsigned max_tenants)
{
	size_t hdr = SB_ALIGN(sizeof(struct sb_head));
	size_t wsize = (size_t)max_workers * sizeof(struct sb_worker);
	size_t tsize = (size_t)max_tenants * sizeof(struct sb_tenant);
	uint64_t vsize =
	    (uint64_t)max_workers * max_tenants * sizeof(struct sb_vms);
	struct fs_scoreboard *sb;
	char *base;

	if (max_workers == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (max_workers > SB_LIMIT || max_tenants > SB_LIMIT ||
	    hdr + wsize + tsize + vsize > SB_MAX_BYTES) {
		errno = E2BIG;
		return NULL;
	}
	sb = malloc(sizeof(*sb));
	if (sb == NULL)
		return NULL;
	base = mmap(NULL, hdr + wsize + tsize + vsize, PROT_READ | PROT_WRITE,
	            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		free(sb);
		return NULL;
	}
	sb->size = hdr + wsize + tsize + vsize;
	sb->max_workers = max_workers;
	sb->max_tenants = max_tenants;
	sb->head = (struct sb_head *)base;
	strcpy(sb->head->pool, "kvm-fpm");
	sb->head->start_time = wall_s();
	sb->workers = (struct sb_worker *)(base + hdr);
	sb->tenants = (struct sb_tenant *)(base + hdr + wsize);
	sb->vms = (struct sb_vms *)(base + hdr + wsize + tsize);
	for (unsigned i = 0; i < max_workers; i++)
		sb->workers[i].tenant = -1;
	return sb;
}

void fs_sb_destroy(struct fs_scoreboard *sb)
{
	if (sb) {
		munmap(sb->head, sb->size);
		free(sb);
	}
}

void *fs_sb_shared(const struct fs_scoreboard *sb, size_t *size)
{
	*size = sb->size;
	return sb->head;
}

int fs_sb_set_pool(struct fs_scoreboard *sb, const char *name)
{
	if (strlen(name) > FS_SB_POOL_MAX)
		return -ENAMETOOLONG;
	strcpy(sb->head->pool, name);
	return 0;
}

static struct sb_worker *worker(const struct fs_scoreboard *sb, unsigned slot)
{
	return slot < sb->max_workers ? &sb->workers[slot] : NULL;
}

static struct sb_tenant *tenant(const struct fs_scoreboard *sb, int idx)
{
	if (idx < 0 || (unsigned)idx >= sb->max_tenants)
		return NULL;
	return &sb->tenants[idx];
}

static struct sb_vms *vms_row(const struct fs_scoreboard *sb, unsigned slot)
{
	return &sb->vms[(size_t)slot * sb->max_tenants];
}

/* Byte-wise atomic copies: a snapshot may read a name being rewritten. */
static void name_store(char *dst, const char *src)
{
	size_t i = 0;

	do
		__atomic_store_n(&dst[i], src[i], RELAXED);
	while (src[i++]);
}

static void name_load(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < FS_SB_NAME_MAX; i++)
		if (!(dst[i] = __atomic_load_n(&src[i], RELAXED)))
			return;
	dst[i] = '\0';
}

/* Master only: the seqlock writer side; it wraps a whole slot rewrite. */
static void tenant_rewrite(struct sb_tenant *t, const char *name)
{
	/* even, whatever a worker wrote there: the rewrite ends readable */
	uint32_t seq = __atomic_load_n(&t->seq, RELAXED) & ~1u;

	__atomic_store_n(&t->seq, seq + 1, RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (unsigned i = 0; i < C_COUNT; i++)
		__atomic_store_n(&t->c[i], 0, RELAXED);
	__atomic_store_n(&t->program, 0, RELAXED);
	name_store(t->name, name ? name : "");
	__atomic_store_n(&t->used, name != NULL, RELAXED);
	__atomic_store_n(&t->seq, seq + 2, __ATOMIC_RELEASE);
}

int fs_sb_tenant_slot(struct fs_scoreboard *sb, const char *name)
{
	char have[FS_SB_NAME_MAX + 1];
	int free_idx = -1;
	size_t len = strlen(name);

	if (len == 0)
		return -EINVAL;
	if (len > FS_SB_NAME_MAX)
		return -ENAMETOOLONG;
	for (unsigned i = 0; i < sb->max_tenants; i++) {
		struct sb_tenant *t = &sb->tenants[i];

		if (!__atomic_load_n(&t->used, RELAXED)) {
			if (free_idx < 0)
				free_idx = (int)i;
			continue;
		}
		name_load(have, t->name);
		if (strcmp(have, name) == 0)
			return (int)i;
	}
	if (free_idx < 0)
		return -ENOSPC;
	tenant_rewrite(&sb->tenants[free_idx], name);
	return free_idx;
}

void fs_sb_tenant_release(struct fs_scoreboard *sb, int idx)
{
	struct sb_tenant *t = tenant(sb, idx);

	if (t && __atomic_load_n(&t->used, RELAXED))
		tenant_rewrite(t, NULL);
}

uint64_t fs_sb_program(const struct fs_scoreboard *sb, int idx)
{
	struct sb_tenant *t = sb ? tenant(sb, idx) : NULL;

	return t ? __atomic_load_n(&t->program, __ATOMIC_ACQUIRE) : 0;
}

uint64_t fs_sb_program_bump(struct fs_scoreboard *sb, int idx)
{
	struct sb_tenant *t = sb ? tenant(sb, idx) : NULL;

	return t ? __atomic_add_fetch(&t->program, 1, __ATOMIC_RELEASE) : 0;
}

void fs_sb_set_store_waiting(struct fs_scoreboard *sb, bool waiting)
{
	if (sb)
		__atomic_store_n(&sb->head->store_waiting, waiting,
		                 __ATOMIC_RELEASE);
}

bool fs_sb_store_waiting(const struct fs_scoreboard *sb)
{
	return sb &&
	       __atomic_load_n(&sb->head->store_waiting, __ATOMIC_ACQUIRE);
}

void fs_sb_set_listen_queue(struct fs_scoreboard *sb, unsigned len)
{
	uint32_t max = __atomic_load_n(&sb->head->max_listen_queue, RELAXED);

	__atomic_store_n(&sb->head->listen_queue, len, RELAXED);
	/* The master is the only writer: no CAS needed. */
	if (len > max)
		__atomic_store_n(&sb->head->max_listen_queue, len, RELAXED);
}

/* Zero a worker's VM row; the worker in it is gone or not started yet. */
static void clear_vms(struct fs_scoreboard *sb, unsigned slot)
{
	struct sb_vms *row = vms_row(sb, slot);

	for (unsigned i = 0; i < sb->max_tenants; i++) {
		__atomic_store_n(&row[i].count, 0, RELAXED);
		__atomic_store_n(&row[i].bytes, 0, RELAXED);
	}
}

void fs_sb_worker_start(struct fs_scoreboard *sb, unsigned slot, pid_t pid)
{
	struct sb_worker *w = worker(sb, slot);

	if (!w)
		return;
	clear_vms(sb, slot);
	__atomic_store_n(&w->pid, pid, RELAXED);
	__atomic_store_n(&w->tenant, -1, RELAXED);
	__atomic_store_n(&w->requests, 0, RELAXED);
	__atomic_store_n(&w->req_start_ns, 0, RELAXED);
	__atomic_store_n(&w->start_time, wall_s(), RELAXED);
	__atomic_store_n(&w->state, FS_SB_IDLE, __ATOMIC_RELEASE);
}

void fs_sb_worker_gone(struct fs_scoreboard *sb, unsigned slot)
{
	struct sb_worker *w = worker(sb, slot);

	if (!w)
		return;
	__atomic_store_n(&w->state, FS_SB_EMPTY, __ATOMIC_RELEASE);
	__atomic_store_n(&w->pid, 0, RELAXED);
	__atomic_store_n(&w->tenant, -1, RELAXED);
	clear_vms(sb, slot);
}

void fs_sb_request_begin(struct fs_scoreboard *sb, unsigned slot,
                         int tenant_idx)
{
	struct sb_worker *w = worker(sb, slot);

	__atomic_fetch_add(&sb->head->accepted, 1, RELAXED);
	if (!w)
		return;
	__atomic_store_n(&w->tenant, tenant(sb, tenant_idx) ? tenant_idx : -1,
	                 RELAXED);
	__atomic_store_n(&w->req_start_ns, mono_ns(), RELAXED);
	__atomic_store_n(&w->state, FS_SB_BUSY, __ATOMIC_RELEASE);
}

static void atomic_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, RELAXED);

	while (cur < v &&
	       !__atomic_compare_exchange_n(p, &cur, v, true, RELAXED, RELAXED))
		;
}

static unsigned bucket_of(uint64_t us)
{
	unsigned b = us < 2 ? 0 : 63 - (unsigned)__builtin_clzll(us);

	return b < FS_SB_BUCKETS ? b : FS_SB_BUCKETS - 1;
}

static void count_tenant(struct sb_tenant *t, int http_status,
                         enum fs_sb_kind kind, uint64_t latency_ns)
{
	unsigned cls = http_status >= 100 && http_status <= 599
	                   ? (unsigned)http_status / 100
	                   : 0;
	uint64_t us = latency_ns / 1000;

	__atomic_fetch_add(&t->c[C_REQUESTS], 1, RELAXED);
	__atomic_fetch_add(&t->c[C_STATUS + cls], 1, RELAXED);
	if (kind == FS_SB_TIMEOUT)
		__atomic_fetch_add(&t->c[C_TIMEOUTS], 1, RELAXED);
	else if (kind == FS_SB_FAULT)
		__atomic_fetch_add(&t->c[C_FAULTS], 1, RELAXED);
	else if (kind == FS_SB_OOM)
		__atomic_fetch_add(&t->c[C_OOM], 1, RELAXED);
	__atomic_fetch_add(&t->c[C_LAT_SUM], us, RELAXED);
	atomic_max(&t->c[C_LAT_MAX], us);
	__atomic_fetch_add(&t->c[C_HIST + bucket_of(us)], 1, RELAXED);
}

void fs_sb_request_end(struct fs_scoreboard *sb, unsigned slot, int tenant_idx,
                       int http_status, enum fs_sb_kind kind,
                       uint64_t latency_ns)
{
	struct sb_worker *w = worker(sb, slot);
	struct sb_tenant *t = tenant(sb, tenant_idx);

	if (t)
		count_tenant(t, http_status, kind, latency_ns);
	if (!w)
		return;
	__atomic_fetch_add(&w->requests, 1, RELAXED);
	__atomic_store_n(&w->tenant, -1, RELAXED);
	__atomic_store_n(&w->req_start_ns, 0, RELAXED);
	__atomic_store_n(&w->state, FS_SB_IDLE, __ATOMIC_RELEASE);
}

void fs_sb_vms(struct fs_scoreboard *sb, unsigned slot, int tenant_idx,
               int64_t delta_count, int64_t delta_bytes)
{
	struct sb_vms *cell;

	if (!worker(sb, slot) || !tenant(sb, tenant_idx))
		return;
	cell = &vms_row(sb, slot)[tenant_idx];
	/* Two's complement wrap makes a negative delta a subtraction. */
	__atomic_fetch_add(&cell->count, (uint64_t)delta_count, RELAXED);
	__atomic_fetch_add(&cell->bytes, (uint64_t)delta_bytes, RELAXED);
}

/* Smallest bucket edge below which 99% of the requests fall, capped at
 * the maximum seen (the top bucket has no upper edge). */
static uint64_t p99_us(const uint64_t *hist, uint64_t max)
{
	uint64_t total = 0, need, cum = 0;

	for (unsigned i = 0; i < FS_SB_BUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return 0;
	need = total - total / 100; /* ceil(0.99 * total) */
	for (unsigned i = 0; i + 1 < FS_SB_BUCKETS; i++) {
		cum += hist[i];
		if (cum >= need)
			return (1ull << (i + 1)) < max ? 1ull << (i + 1) : max;
	}
	return max;
}

/* Copy tenant slot i; false when unused (or rewritten throughout). */
static bool snap_tenant(const struct sb_tenant *t, unsigned i,
                        struct fs_sb_tenant_snap *out)
{
	uint64_t c[C_COUNT];
	uint32_t seq, used;
	unsigned tries = 0;

	do {
		if (++tries > SB_SEQ_TRIES)
			return false;
		seq = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		used = __atomic_load_n(&t->used, RELAXED);
		name_load(out->name, t->name);
		for (unsigned k = 0; k < C_COUNT; k++)
			c[k] = __atomic_load_n(&t->c[k], RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || __atomic_load_n(&t->seq, RELAXED) != seq);
	if (!used)
		return false;
	out->index = i;
	out->requests = c[C_REQUESTS];
	memcpy(out->status, &c[C_STATUS], sizeof(out->status));
	out->timeouts = c[C_TIMEOUTS];
	out->faults = c[C_FAULTS];
	out->oom = c[C_OOM];
	out->latency_sum_us = c[C_LAT_SUM];
	out->latency_max_us = c[C_LAT_MAX];
	out->latency_avg_us =
	    out->requests ? out->latency_sum_us / out->requests : 0;
	memcpy(out->hist, &c[C_HIST], sizeof(out->hist));
	out->latency_p99_us = p99_us(out->hist, out->latency_max_us);
	out->uploads = __atomic_load_n(&t->program, RELAXED);
	return true;
}

static void snap_worker(const struct fs_scoreboard *sb, unsigned slot,
                        uint64_t now_ns, struct fs_sb_worker_snap *out)
{
	const struct sb_worker *w = &sb->workers[slot];
	uint64_t start;

	out->state = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
	out->pid = __atomic_load_n(&w->pid, RELAXED);
	out->tenant = __atomic_load_n(&w->tenant, RELAXED);
	out->requests = __atomic_load_n(&w->requests, RELAXED);
	out->start_time = __atomic_load_n(&w->start_time, RELAXED);
	start = __atomic_load_n(&w->req_start_ns, RELAXED);
	if (out->state == FS_SB_BUSY && start && now_ns > start)
		out->request_ns = now_ns - start;
	if (out->state != FS_SB_BUSY)
		out->tenant = -1;
}

/* Sum the VM matrix of live workers into workers and slot-indexed
 * tenants; count the processes busy on each tenant. */
static void sum_workers(const struct fs_scoreboard *sb,
                        struct fs_sb_snapshot *out,
                        struct fs_sb_tenant_snap *by_slot)
{
	for (unsigned w = 0; w < sb->max_workers; w++) {
		struct fs_sb_worker_snap *ws = &out->workers[w];
		const struct sb_vms *row = vms_row(sb, w);

		if (ws->state == FS_SB_EMPTY)
			continue;
		out->total++;
		if (ws->state == FS_SB_BUSY)
			out->active++;
		else
			out->idle++;
		if (ws->tenant >= 0 && (unsigned)ws->tenant < sb->max_tenants)
			by_slot[ws->tenant].active++;
		for (unsigned t = 0; t < sb->max_tenants; t++) {
			uint64_t n = __atomic_load_n(&row[t].count, RELAXED);
			uint64_t b = __atomic_load_n(&row[t].bytes, RELAXED);

			ws->vms += n;
			ws->vm_bytes += b;
			by_slot[t].vms += n;
			by_slot[t].vm_bytes += b;
		}
	}
}

int fs_sb_snapshot(const struct fs_scoreboard *sb, struct fs_sb_snapshot *out)
{
	struct fs_sb_tenant_snap *by_slot;
	bool *used;
	uint64_t now = wall_s(), now_ns = mono_ns();

	memset(out, 0, sizeof(*out));
	out->workers = calloc(sb->max_workers, sizeof(*out->workers));
	by_slot = calloc(sb->max_tenants + 1, sizeof(*by_slot));
	used = calloc(sb->max_tenants + 1, sizeof(*used));
	if (!out->workers || !by_slot || !used) {
		free(out->workers);
		free(by_slot);
		free(used);
		out->workers = NULL;
		return -ENOMEM;
	}
	memcpy(out->pool, sb->head->pool, sizeof(out->pool));
	out->pool[sizeof(out->pool) - 1] = '\0'; /* as a worker left it */
	out->start_time = sb->head->start_time;
	out->start_since = now > out->start_time ? now - out->start_time : 0;
	out->accepted = __atomic_load_n(&sb->head->accepted, RELAXED);
	out->listen_queue = __atomic_load_n(&sb->head->listen_queue, RELAXED);
	out->max_listen_queue =
	    __atomic_load_n(&sb->head->max_listen_queue, RELAXED);
	out->nworkers = sb->max_workers;
	for (unsigned i = 0; i < sb->max_tenants; i++)
		used[i] = snap_tenant(&sb->tenants[i], i, &by_slot[i]);
	for (unsigned i = 0; i < sb->max_workers; i++)
		snap_worker(sb, i, now_ns, &out->workers[i]);
	sum_workers(sb, out, by_slot);
	/* Compact in place: in-use tenants only, in slot order. */
	for (unsigned i = 0; i < sb->max_tenants; i++) {
		if (used[i] && out->ntenants != i)
			by_slot[out->ntenants] = by_slot[i];
		out->ntenants += used[i];
	}
	out->tenants = by_slot;
	free(used);
	return 0;
}

void fs_sb_snapshot_free(struct fs_sb_snapshot *s)
{
	free(s->workers);
	free(s->tenants);
	memset(s, 0, sizeof(*s));
}
