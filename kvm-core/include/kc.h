/* kvm-core: load a tenant program into a KVM guest, snapshot it after
 * main(), and serve requests from that snapshot.  The only header callers
 * need; it knows nothing of FastCGI. */
#ifndef KC_H
#define KC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-tenant limits.  kc_limits_default() gives the documented defaults. */
struct kc_limits {
	uint64_t max_memory;         /* guest address space, bytes */
	uint64_t max_request_memory; /* a request's allocations, bytes */
	uint64_t max_response_size;  /* body + headers, bytes */
	uint64_t max_body_size;      /* request body handed to the guest */
	uint64_t stack_size;         /* the guest's stack, bytes */
	uint64_t max_request_time_ns;
	uint64_t max_boot_time_ns;
	uint64_t max_log_size; /* stdout + stderr a run may log */
	/* The tree the guest sees read-only at /data, or NULL.  Opened once
	 * when the program boots; the string is not kept. */
	const char *data_dir;
};

void kc_limits_default(struct kc_limits *l);

/* Check limits for consistency; 0, or -EINVAL with a reason in err. */
int kc_limits_check(const struct kc_limits *l, char *err, size_t errlen);

/* How a request (or boot) ended. */
enum kc_status {
	KC_OK = 0,           /* the guest answered */
	KC_ERR_FAULT,        /* CPU exception, triple fault, bad exit */
	KC_ERR_TIMEOUT,      /* over max_request_time / max_boot_time */
	KC_ERR_OOM,          /* over max_request_memory or max_memory */
	KC_ERR_BAD_POINTER,  /* a guest pointer handed to the host was bad */
	KC_ERR_EXIT,         /* the program called exit() */
	KC_ERR_NO_RESPONSE,  /* my_backend returned without answering */
	KC_ERR_TOO_LARGE,    /* response over max_response_size */
	KC_ERR_BAD_RESPONSE, /* invalid status, content type or header */
	KC_ERR_INTERNAL,     /* KVM failed; the VM was rebuilt or is gone */
	KC_ERR_DEADLOCK,     /* waited for what no thread can ever do */
	KC_STATUS_MAX
};

/* A short stable name for a status: "fault", "timeout", ... */
const char *kc_status_name(enum kc_status s);

struct kc_str {
	const char *ptr;
	size_t len;
};

struct kc_header {
	struct kc_str name; /* lower case, '-' separated */
	struct kc_str value;
};

/* A request as the host hands it to the guest.  Copied into the guest. */
struct kc_request {
	struct kc_str method, uri, query, remote_addr;
	const struct kc_header *headers;
	size_t header_count;
	const void *body;
	size_t body_len;
};

/*
 * The outcome of a request.  On KC_OK the strings point into guest memory
 * and stay valid until kc_vm_reset(); headers are validated
 * "Name: value\r\n" lines.  Otherwise error holds a one-line reason for the
 * log (kind, RIP and symbol).
 */
struct kc_result {
	enum kc_status status;
	int http_status;
	struct kc_str content_type;
	struct kc_str headers;
	struct kc_str body;
	char error[256];
};

/*
 * Where a guest's stdout (fd 1) and stderr (fd 2) go: one line at a time,
 * without its newline, cut at KC_OUTPUT_LINE_MAX bytes.  The bytes are the
 * guest's, unfiltered (any byte, NUL included): escape them for a log.
 * Each line counts its bytes and newline, and at least KC_OUTPUT_LINE_COST
 * bytes (what a log line's prefix costs), to max_log_size.  When a run
 * reaches it, fd 0 brings kvm-core's one note saying so and the rest of
 * the run's output is dropped (the guest's writes still succeed).
 */
#define KC_OUTPUT_LINE_MAX  1024
#define KC_OUTPUT_LINE_COST 64
typedef void kc_output_fn(void *ctx, int fd, const char *line, size_t len);

/*
 * Open /dev/kvm and check the capabilities kvm-core needs.  Call once per
 * process before anything else; children of fork() may share the result.
 * 0, or a negative errno with a reason in err.
 */
int kc_init(char *err, size_t errlen);

/*
 * A tenant program after main(): the snapshot every request starts from.
 * Images are reference-counted and may be created before fork(); children
 * build their own VMs on them.
 */
struct kc_image;
struct kc_vm;

/*
 * Validate the ELF in elf[0..len), load it, run its main() under
 * max_boot_time and take the snapshot.  On success *image holds a new
 * reference; when vm is not NULL the VM that booted is kept and returned,
 * ready for requests (saves creating another).  On failure returns a
 * negative errno or a kc_status (> 0), with the reason in err: -ENOEXEC
 * for an ELF kvm-core refuses, -EFBIG for a program that does not fit
 * max_memory, a kc_status when main() failed.
 */
int kc_image_boot(const void *elf, size_t len, const struct kc_limits *lim,
                  kc_output_fn *out, void *out_ctx, struct kc_image **image,
                  struct kc_vm **vm, char *err, size_t errlen);

void kc_image_get(struct kc_image *img);
void kc_image_put(struct kc_image *img);
const struct kc_limits *kc_image_limits(const struct kc_image *img);

/* Bytes of guest memory the snapshot holds (the program's own pages). */
uint64_t kc_image_snapshot_bytes(const struct kc_image *img);

/* Create a VM serving img (takes its own reference).  0 or -errno. */
int kc_vm_create(struct kc_image *img, kc_output_fn *out, void *out_ctx,
                 struct kc_vm **vm, char *err, size_t errlen);
void kc_vm_destroy(struct kc_vm *vm);
struct kc_image *kc_vm_image(const struct kc_vm *vm);

/*
 * Run one request from the snapshot.  Always fills *res; returns its
 * status.  Call kc_vm_reset() once the response has been sent: the reset
 * is the caller's alone, and a VM that ran a request since its last reset
 * is refused (KC_ERR_INTERNAL, nothing run).
 */
enum kc_status kc_vm_request(struct kc_vm *vm, const struct kc_request *req,
                             struct kc_result *res);

/* Messages for the log from a debug session ("waiting for GDB on ..."). */
typedef void kc_debug_log_fn(void *ctx, const char *msg);

/*
 * How a request runs under the GDB stub.  A stop (at my_backend, at
 * breakpoint(), at a fault) that finds no debugger attached waits up to
 * wait_ns for one to connect, then goes on as if there were none.
 */
struct kc_debug {
	int listen_fd;      /* a listening socket the caller owns, or -1: */
	uint16_t port;      /* then 127.0.0.1:port is bound for a stop */
	uint64_t wait_ns;   /* how long a stop waits for GDB to connect,
	                       and GDB may leave a reply unread */
	bool counts_time;   /* stopped time counts to max_request_time */
	bool stop_at_entry; /* stop at the first instruction of my_backend */
	bool stop_on_breakpoint; /* breakpoint() stops */
	bool stop_on_fault;      /* a CPU fault stops before the request ends */
	kc_debug_log_fn *log;
	void *log_ctx;
};

/*
 * kc_vm_request() under the debugger (dbg NULL: exactly kc_vm_request).
 * Blocks while GDB holds the VM.  GDB's continue or detach lets the
 * request finish; kill or a dropped connection ends it with KC_ERR_FAULT.
 * Breakpoints are gone afterwards; kc_vm_reset() restores everything else.
 */
enum kc_status kc_vm_request_debug(struct kc_vm *vm,
                                   const struct kc_request *req,
                                   struct kc_result *res,
                                   const struct kc_debug *dbg);

/* A listening TCP socket on 127.0.0.1:port (SO_REUSEADDR) for GDB: the fd,
 * or a negative errno (-EADDRINUSE: another worker is debugging). */
int kc_gdb_listen(uint16_t port);

/*
 * Return the VM to the snapshot: restore the pages the request dirtied.
 * 0, or a negative errno when the VM is unusable and must be destroyed
 * (until a reset succeeds, kc_vm_request refuses it).
 */
int kc_vm_reset(struct kc_vm *vm);

/* Counters for status pages and benchmarks. */
struct kc_vm_stats {
	uint64_t requests;
	uint64_t exits;          /* KVM_RUN returns */
	uint64_t pages_restored; /* copied back from the snapshot */
	uint64_t pages_zeroed;   /* beyond the snapshot, cleared */
	uint64_t rebuilds;       /* vCPU state rebuilt after a bad exit */
	uint64_t slot_grows;     /* memory slots grown for allocations */
	uint64_t sregs_restores; /* segments a request changed, put back */
	uint64_t events_dropped; /* resets after a stop anywhere (reset.c) */
	uint64_t fresh_unmaps;   /* fresh ranges KVM had to forget */
	uint64_t enosys;         /* system calls answered ENOSYS, unknown */
};
void kc_vm_stats(const struct kc_vm *vm, struct kc_vm_stats *st);

#endif
