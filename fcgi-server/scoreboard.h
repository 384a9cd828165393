/* fs_sb: the shared scoreboard workers write and the status page reads. */
#ifndef FS_SCOREBOARD_H
#define FS_SCOREBOARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest tenant name (a normalised host name), not counting the NUL. */
#define FS_SB_NAME_MAX 253
/* Longest pool name, not counting the NUL. */
#define FS_SB_POOL_MAX 63
/* Latency histogram: bucket i holds [2^i, 2^(i+1)) us; 0 us goes in 0. */
#define FS_SB_BUCKETS 32

enum fs_sb_state {
	FS_SB_EMPTY = 0, /* no process in this slot */
	FS_SB_IDLE,
	FS_SB_BUSY,
};

/* How a request ended, beside its HTTP status. */
enum fs_sb_kind {
	FS_SB_OK = 0,
	FS_SB_TIMEOUT, /* max_request_time reached */
	FS_SB_FAULT,   /* guest fault or bad pointer */
	FS_SB_OOM,     /* guest ran out of memory */
};

struct fs_scoreboard;

struct fs_sb_worker_snap {
	pid_t pid;
	enum fs_sb_state state;
	int tenant;          /* tenant index of the current request, or -1 */
	uint64_t requests;   /* served by this process */
	uint64_t start_time; /* wall clock seconds */
	uint64_t request_ns; /* how long the current request has run */
	uint64_t vms;        /* resident VMs, all tenants */
	uint64_t vm_bytes;
};

struct fs_sb_tenant_snap {
	char name[FS_SB_NAME_MAX + 1];
	unsigned index;     /* the tenant_idx workers use */
	uint64_t requests;  /* completed */
	uint64_t status[6]; /* [c]: status c00..c99; [0]: out of range */
	uint64_t timeouts, faults, oom;
	uint64_t active; /* processes serving this tenant right now */
	uint64_t latency_sum_us, latency_avg_us, latency_max_us;
	uint64_t latency_p99_us; /* upper bucket edge, at most the max */
	uint64_t hist[FS_SB_BUCKETS];
	uint64_t vms, vm_bytes; /* resident in live workers */
	uint64_t uploads;       /* live updates since the master started */
};

/* A plain copy of the scoreboard; every number is a uint64_t so the status
 * renderer can read them all through one offsetof table. */
struct fs_sb_snapshot {
	char pool[FS_SB_POOL_MAX + 1];
	uint64_t start_time;  /* wall clock seconds */
	uint64_t start_since; /* seconds since start_time */
	uint64_t accepted;
	uint64_t listen_queue, max_listen_queue;
	uint64_t idle, active, total; /* processes */
	unsigned nworkers;            /* slots, including empty ones */
	struct fs_sb_worker_snap *workers;
	unsigned ntenants; /* tenants in use, in slot order */
	struct fs_sb_tenant_snap *tenants;
};

/*
 * Map a zeroed shared scoreboard for max_workers process slots and
 * max_tenants tenant slots.  Call in the master before forking so every
 * worker shares it.  Pool name "kvm-fpm", start time now.  Returns NULL
 * (errno set: EINVAL for 0 workers, E2BIG when too large, ENOMEM).
 */
struct fs_scoreboard *fs_sb_create(unsigned max_workers, unsigned max_tenants);

/* Unmap sb (NULL is fine).  Each process holding the mapping may call it. */
void fs_sb_destroy(struct fs_scoreboard *sb);

/* The mapping every worker shares (*size bytes): all that a worker can
 * write.  Only data lies there; the tests write it as a compromised
 * worker would. */
void *fs_sb_shared(const struct fs_scoreboard *sb, size_t *size);

/* Master, before forking: name the pool.  0, or -ENAMETOOLONG. */
int fs_sb_set_pool(struct fs_scoreboard *sb, const char *name);

/*
 * Master: the index for tenant name, reusing the slot that already has the
 * name (its counters go on) or else a free one (counters zeroed).  Returns
 * the index, -EINVAL for an empty name, -ENAMETOOLONG, or -ENOSPC when all
 * slots are taken.  Only the master may call it (one writer per name).
 */
int fs_sb_tenant_slot(struct fs_scoreboard *sb, const char *name);

/* Master: free tenant slot idx (a tenant dropped on reload).  Do it once no
 * worker serves the tenant any more; out-of-range indexes are ignored. */
void fs_sb_tenant_release(struct fs_scoreboard *sb, int idx);

/*
 * The program version of tenant idx: 0 at first, bumped by each live
 * update (by the worker that took it) once the new program is on disk.
 * A process whose image is older reloads the tenant before its next
 * request.  0 for a NULL sb or an unknown idx; the bump then returns 0.
 */
uint64_t fs_sb_program(const struct fs_scoreboard *sb, int idx);
uint64_t fs_sb_program_bump(struct fs_scoreboard *sb, int idx);

/*
 * program_store = etcd: the master says at start that this node has not
 * caught up with etcd yet (true); its watcher says so once it has (false).
 * Until then ping_path answers 503, so that a load balancer sends the node
 * nothing its older programs would answer.  Never waiting for a NULL sb.
 */
void fs_sb_set_store_waiting(struct fs_scoreboard *sb, bool waiting);
bool fs_sb_store_waiting(const struct fs_scoreboard *sb);

/* Master: record the listen socket's backlog; the maximum is kept too. */
void fs_sb_set_listen_queue(struct fs_scoreboard *sb, unsigned len);

/*
 * The worker API.  slot is the process slot (0..max_workers-1) the master
 * gave the worker; tenant_idx comes from fs_sb_tenant_slot or is -1 (an
 * unknown host, the status page), which moves only global and process
 * counters.  Out-of-range slots and indexes are ignored.  Lock-free.
 */

/* Slot now holds process pid, idle, with no requests and no VMs. */
void fs_sb_worker_start(struct fs_scoreboard *sb, unsigned slot, pid_t pid);

/* A request was accepted and starts now. */
void fs_sb_request_begin(struct fs_scoreboard *sb, unsigned slot,
                         int tenant_idx);

/* The request ended with http_status after latency_ns; kind says how. */
void fs_sb_request_end(struct fs_scoreboard *sb, unsigned slot, int tenant_idx,
                       int http_status, enum fs_sb_kind kind,
                       uint64_t latency_ns);

/*
 * The worker in slot made (positive deltas) or dropped (negative) resident
 * VMs of tenant_idx.  Kept per process and tenant, so a dead worker's VMs
 * leave the tenant totals when the master calls fs_sb_worker_gone.
 */
void fs_sb_vms(struct fs_scoreboard *sb, unsigned slot, int tenant_idx,
               int64_t delta_count, int64_t delta_bytes);

/* Master, after reaping the worker in slot: empty it and drop its VMs. */
void fs_sb_worker_gone(struct fs_scoreboard *sb, unsigned slot);

/*
 * Copy the scoreboard into out (heap arrays; free with
 * fs_sb_snapshot_free) and derive averages, p99 and process counts.  Each
 * counter is read atomically, but the copy as a whole is not one instant.
 * 0, or -ENOMEM (out holds nothing to free).
 */
int fs_sb_snapshot(const struct fs_scoreboard *sb, struct fs_sb_snapshot *out);

/* Free what a snapshot holds and zero it. */
void fs_sb_snapshot_free(struct fs_sb_snapshot *s);

#endif
