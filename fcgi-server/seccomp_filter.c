/* The worker's system call filter (libseccomp): an allow-list of what
 * serving requests needs; anything else is logged by name and kills the
 * worker with SIGSYS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "seccomp_filter.h"

#define IOC_TYPE_MASK 0xff00 /* _IOC_TYPE's bits of an ioctl number */
#define NAMES_MAX     512    /* x86-64 numbers stay below this */
#define NAME_LEN      24

/*
 * One allowed call, optionally with conditions on its arguments (all
 * must hold; an entry with op 0 is unused).  SELF as a datum means "this
 * process's pid", known only when the filter is built.  errno_ret != 0
 * refuses the call with that errno instead of allowing it (a harmless
 * probe not worth a dead worker).
 */
struct cond {
	unsigned arg;
	enum scmp_compare op;
	uint64_t a, b;
};

struct rule {
	int nr;
	struct cond cond[2];
	int errno_ret;
};

#define SELF UINT64_MAX

/* clang-format off */
#define EQ(n, x)        {.arg = n, .op = SCMP_CMP_EQ, .a = x}
#define MASKED(n, m, x) {.arg = n, .op = SCMP_CMP_MASKED_EQ, .a = m, .b = x}
#define ALLOW(name)     {.nr = SCMP_SYS(name)}
#define ALLOW_IF(name, ...) {.nr = SCMP_SYS(name), .cond = {__VA_ARGS__}}
#define REFUSE(name, e, ...)                                                   \
	{.nr = SCMP_SYS(name), .errno_ret = e, .cond = {__VA_ARGS__}}
/* clang-format on */

#define SOCK_TYPE_MASK 0xf /* the type bits of socket()'s second argument */

/*
 * The allow-list.  Found by reading every system call kvm-core, the
 * server, glibc and ASan make on a worker's paths (requests,
 * faults, timeouts, live upload, GDB sessions, log reopening, recycling);
 * a new one a feature needs goes here with its reason.  Not restricted
 * by argument (libseccomp compares integers, never what a pointer points
 * to): paths of open/rename/unlink (the worker's uid and the
 * filesystem's permissions decide), the address given to bind, the fd
 * an ioctl goes to.
 */
static const struct rule rules[] = {
    /* memory: malloc, guest memory views, kvm_run areas, resets */
    ALLOW(brk),
    ALLOW(mmap),
    ALLOW(munmap),
    ALLOW(mremap),       /* realloc of large blocks */
    ALLOW(mprotect),     /* malloc arenas, sanitizer runtimes */
    ALLOW(madvise),      /* a reset gives fresh guest pages back */
    ALLOW(memfd_create), /* the snapshot of an uploaded program */
    ALLOW(ftruncate),    /* sizing that memfd */
    /* fcntl by command.  Seals, flags (O_NONBLOCK; O_ASYNC for GDB's
     * ^C), locks.  The owner a socket's signal goes to only the worker
     * itself: F_SETOWN to another pid (or F_SETOWN_EX, whose struct the
     * filter cannot read) would have the kernel signal any process of
     * the worker's uid, the master under the systemd unit. */
    ALLOW_IF(fcntl, EQ(1, F_DUPFD)),
    ALLOW_IF(fcntl, EQ(1, F_DUPFD_CLOEXEC)),
    ALLOW_IF(fcntl, EQ(1, F_GETFD)),
    ALLOW_IF(fcntl, EQ(1, F_SETFD)),
    ALLOW_IF(fcntl, EQ(1, F_GETFL)),
    ALLOW_IF(fcntl, EQ(1, F_SETFL)),
    ALLOW_IF(fcntl, EQ(1, F_GETLK)),
    ALLOW_IF(fcntl, EQ(1, F_SETLK)),
    ALLOW_IF(fcntl, EQ(1, F_SETLKW)),
    ALLOW_IF(fcntl, EQ(1, F_OFD_GETLK)),
    ALLOW_IF(fcntl, EQ(1, F_OFD_SETLK)),
    ALLOW_IF(fcntl, EQ(1, F_OFD_SETLKW)),
    ALLOW_IF(fcntl, EQ(1, F_ADD_SEALS)),
    ALLOW_IF(fcntl, EQ(1, F_GET_SEALS)),
    ALLOW_IF(fcntl, EQ(1, F_GETOWN)),
    ALLOW_IF(fcntl, EQ(1, F_GETSIG)),
    ALLOW_IF(fcntl, EQ(1, F_SETSIG)),
    ALLOW_IF(fcntl, EQ(1, F_SETOWN), EQ(2, SELF)),

    /* files: program_dir (upload: temp file, fsync, rename, lock),
     * uploaded programs, log files reopened on SIGUSR1 */
    ALLOW(openat),
    ALLOW(open), /* ASan's report (/proc/self/maps, its log file) */
    ALLOW(read),
    ALLOW(readv),
    ALLOW(write),
    ALLOW(writev),
    ALLOW(lseek),
    ALLOW(close),
    ALLOW(fstat),
    ALLOW(newfstatat),
    ALLOW(access),
    ALLOW(faccessat),
    ALLOW(faccessat2),
    ALLOW(readlink), /* ASan's symbolizer */
    ALLOW(mkdir),    /* program_dir exists already: EEXIST */
    ALLOW(mkdirat),
    ALLOW(rename),
    ALLOW(renameat),
    ALLOW(renameat2),
    ALLOW(unlink),
    ALLOW(unlinkat),
    ALLOW(flock),
    ALLOW(fsync),
    ALLOW(fdatasync),
    /* a tenant's data_dir (kvm-core/sys_file.c): paths resolved by
     * openat2 under the directory, reads at each VM's own offset */
    ALLOW(openat2),
    ALLOW(pread64),
    ALLOW(getdents64),
    ALLOW(statx),
    ALLOW(dup),

    /* sockets: FastCGI/SCGI connections on inherited listeners, GDB on
     * 127.0.0.1.  No connect(): a worker reaches nothing on its own.  New
     * sockets are TCP streams only (GDB's): a datagram socket sends
     * without connect(), a unix one could reach local daemons. */
    ALLOW_IF(socket, EQ(0, AF_INET), MASKED(1, SOCK_TYPE_MASK, SOCK_STREAM)),
    ALLOW(bind),
    ALLOW(listen),
    ALLOW(accept),
    ALLOW(accept4),
    ALLOW(setsockopt),
    ALLOW(getsockopt),
    ALLOW(getsockname),
    ALLOW(getpeername),
    ALLOW(shutdown),
    /* send(): no address, which would be TCP Fast Open's connect */
    ALLOW_IF(sendto, EQ(4, 0)),
    ALLOW(recvfrom), /* recv() */
    ALLOW(poll),
    ALLOW(ppoll),
    ALLOW(select),
    ALLOW(pselect6),

    /* signals and the request timer (SIGEV_THREAD_ID) */
    ALLOW(rt_sigaction),
    ALLOW(rt_sigprocmask),
    ALLOW(rt_sigreturn),
    ALLOW(rt_sigtimedwait), /* takes the request timer's expiry
                               (kvm-core/timer.c) */
    ALLOW(restart_syscall),
    ALLOW(sigaltstack), /* ASan's runtime, at exit too */
    ALLOW(timer_create),
    ALLOW(timer_settime),
    ALLOW(timer_gettime),
    ALLOW(timer_delete),
    ALLOW(clock_gettime),
    ALLOW(clock_getres),
    ALLOW(gettimeofday),
    ALLOW(time),
    ALLOW(nanosleep),
    ALLOW(clock_nanosleep),
    /* abort() signals itself; no other process */
    ALLOW_IF(kill, EQ(0, SELF)),
    ALLOW_IF(tgkill, EQ(0, SELF)),

    /* process */
    ALLOW(getpid),
    ALLOW(gettid),
    ALLOW(getrandom),   /* the guest's getrandom and AT_RANDOM */
    ALLOW(futex),       /* glibc and ASan locks */
    ALLOW(sched_yield), /* ASan spin locks */
    ALLOW(sysinfo),     /* glibc's qsort sizes its buffer by RAM */
    ALLOW(exit),
    ALLOW(exit_group),

    /* KVM: any ioctl of KVM's type (0xAE), on whatever fd: the VM,
     * vCPU and /dev/kvm fds are not known when the filter is built,
     * and new KVM calls need no change here. */
    ALLOW_IF(ioctl, MASKED(1, IOC_TYPE_MASK, KVMIO << 8)),
    /* stdio asks whether the log is a terminal */
    REFUSE(ioctl, ENOTTY, EQ(1, TCGETS)),
};

/* Names resolved before the filter goes on: the SIGSYS handler may not
 * call into libseccomp (it allocates). */
static char names[NAMES_MAX][NAME_LEN];

static void resolve_names(void)
{
	int nr;

	for (nr = 0; nr < NAMES_MAX; nr++) {
		char *n =
		    seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (n)
			snprintf(names[nr], NAME_LEN, "%s", n);
		free(n);
	}
}

/* ---- the SIGSYS handler: async-signal-safe only ------------------------ */

struct line {
	char buf[256];
	size_t n;
};

static void put_str(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = *s++;
}

static void put_num(struct line *l, unsigned long v, int width)
{
	char d[24];
	int k = 0;

	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < (int)sizeof(d));
	while (k < width && k < (int)sizeof(d))
		d[k++] = '0';
	while (k > 0 && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = d[--k];
}

/* "YYYY-MM-DDTHH:MM:SSZ" as fs_log writes it, without gmtime_r (not
 * async-signal-safe): days to a civil date (H. Hinnant's algorithm). */
static void put_time(struct line *l)
{
	struct timespec ts;
	long z, era, doe, yoe, doy, mp, s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = ts.tv_sec % 86400;
	z = ts.tv_sec / 86400 + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	put_num(l, (unsigned long)(yoe + era * 400 + (mp >= 10)), 4);
	put_str(l, "-");
	put_num(l, (unsigned long)(mp < 10 ? mp + 3 : mp - 9), 2);
	put_str(l, "-");
	put_num(l, (unsigned long)(doy - (153 * mp + 2) / 5 + 1), 2);
	put_str(l, "T");
	put_num(l, (unsigned long)(s / 3600), 2);
	put_str(l, ":");
	put_num(l, (unsigned long)(s / 60 % 60), 2);
	put_str(l, ":");
	put_num(l, (unsigned long)(s % 60), 2);
	put_str(l, "Z");
}

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	int nr = info->si_syscall;
	struct sigaction dfl;
	struct line l = {.n = 0};
	sigset_t set;

	(void)uc;
	put_time(&l);
	put_str(&l, " [crit] [pid ");
	put_num(&l, (unsigned long)getpid(), 1);
	put_str(&l, "] seccomp: forbidden system call ");
	put_str(&l,
	        nr >= 0 && nr < NAMES_MAX && names[nr][0] ? names[nr] : "?");
	put_str(&l, " (");
	put_num(&l, (unsigned long)(unsigned)nr, 1);
	put_str(&l, "): the worker dies of SIGSYS\n");
	if (write(fs_log_fd(), l.buf, l.n) < 0) {
		/* nowhere to report it; the master still logs SIGSYS */
	}
	/* Die of the signal itself, so that the master sees SIGSYS: the
	 * default action restored, unblocked, sent to itself (the one kill
	 * the filter allows). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	_exit(128 + sig); /* not reached */
}

/* ---- building and loading ---------------------------------------------- */

static int add_rule(scmp_filter_ctx ctx, const struct rule *r)
{
	uint32_t action = r->errno_ret ? SCMP_ACT_ERRNO((uint32_t)r->errno_ret)
	                               : SCMP_ACT_ALLOW;
	struct scmp_arg_cmp cmp[2];
	unsigned i, n = 0;

	for (i = 0; i < 2 && r->cond[i].op; i++, n++)
		cmp[i] = (struct scmp_arg_cmp){
		    .arg = r->cond[i].arg,
		    .op = r->cond[i].op,
		    .datum_a = r->cond[i].a == SELF ? (uint64_t)getpid()
		                                    : r->cond[i].a,
		    .datum_b = r->cond[i].b,
		};
	return seccomp_rule_add_array(ctx, action, r->nr, n, n ? cmp : NULL);
}

int fs_seccomp_install(char *err, size_t errlen)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	size_t i;
	int r = 0;

	resolve_names();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		snprintf(err, errlen, "seccomp: SIGSYS handler: %s",
		         strerror(errno));
		return -errno;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL) {
		snprintf(err, errlen, "seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* A call of another ABI (int 0x80, x32) never reaches the table. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	                     SCMP_ACT_KILL_PROCESS);
	for (i = 0; r == 0 && i < sizeof(rules) / sizeof(rules[0]); i++) {
		r = add_rule(ctx, &rules[i]);
		if (r)
			snprintf(err, errlen, "seccomp: rule %zu (call %d): %s",
			         i, rules[i].nr, strerror(-r));
	}
	if (r == 0) {
		r = seccomp_load(ctx);
		if (r)
			snprintf(err, errlen, "seccomp: cannot load: %s",
			         strerror(-r));
	}
	seccomp_release(ctx);
	return r;
}
