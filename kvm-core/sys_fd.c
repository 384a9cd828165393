/* The standard fds as runtimes probe them (poll, fcntl, fstat) and the one
 * symbolic link they read, /proc/self/exe.  Only guest memory is touched;
 * no host calls. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>

#include "kc_result.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define PATH_MAX_GUEST 4096
#define GUEST_ID       65534 /* nobody, as getuid() says */

_Static_assert(sizeof(struct stat) == 144, "x86-64 struct stat");
_Static_assert(sizeof(struct pollfd) == 8, "struct pollfd");

/* What fd is ready for: stdin is at end of file (readable), stdout and
 * stderr always take output, files always have data. */
static short poll_one(struct kc_vm *vm, const struct pollfd *p)
{
	if (p->fd < 0)
		return 0;
	if (p->fd == 0)
		return p->events & (POLLIN | POLLRDNORM);
	if (p->fd <= 2)
		return p->events & (POLLOUT | POLLWRNORM);
	if (kc_file_is_open(vm, (uint64_t)p->fd))
		return p->events & (POLLIN | POLLRDNORM);
	return POLLNVAL;
}

/* Fill revents; the count ready, or -errno.  forever: no timeout, so that
 * nothing ready is a wait no event could ever end. */
static int do_poll(struct kc_vm *vm, struct kvm_regs *r, bool forever)
{
	uint64_t nfds = r->rsi, i;
	struct pollfd fds[KC_NOFILE];
	int ready = 0;

	if (nfds > KC_NOFILE)
		return kc_sys_ret(r, -EINVAL);
	/* Copied in and out: the guest's array need not be aligned. */
	if (nfds && kc_sys_get(vm, fds, r->rdi, nfds * sizeof(*fds)))
		return kc_sys_ret(r, -EFAULT);
	for (i = 0; i < nfds; i++) {
		fds[i].revents = poll_one(vm, &fds[i]);
		ready += fds[i].revents != 0;
	}
	if (nfds && kc_sys_put(vm, r->rdi, fds, nfds * sizeof(*fds)))
		return kc_sys_ret(r, -EFAULT);
	if (ready == 0 && forever)
		return kc_vm_fail(vm, KC_ERR_DEADLOCK,
		                  "deadlock: poll() on %llu fds with no "
		                  "timeout, and none of them can become ready",
		                  (unsigned long long)nfds);
	/* A timeout passes at once, as nanosleep does here. */
	return kc_sys_ret(r, ready);
}

int kc_sys_poll(struct kc_vm *vm, struct kvm_regs *r)
{
	return do_poll(vm, r, (int32_t)r->rdx < 0);
}

int kc_sys_ppoll(struct kc_vm *vm, struct kvm_regs *r)
{
	int64_t ts[2];

	if (r->rdx) {
		if (kc_sys_get(vm, ts, r->rdx, sizeof(ts)))
			return kc_sys_ret(r, -EFAULT);
		if (ts[0] < 0 || (uint64_t)ts[1] >= 1000000000)
			return kc_sys_ret(r, -EINVAL);
	}
	if (r->r10 && r->r8 != 8) /* the signal mask is taken as given */
		return kc_sys_ret(r, -EINVAL);
	return do_poll(vm, r, r->rdx == 0);
}

int kc_sys_fcntl(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rdi > 2)
		return kc_sys_ret(r, kc_file_fcntl(vm, r->rdi, r->rsi, r->rdx));
	switch (r->rsi) {
	case F_GETFD:
		return kc_sys_ret(r, 0);
	case F_SETFD: /* close-on-exec means nothing without exec */
	case F_SETFL: /* O_NONBLOCK and O_APPEND change nothing here */
		return kc_sys_ret(r, 0);
	case F_GETFL:
		return kc_sys_ret(r, r->rdi == 0 ? O_RDONLY : O_WRONLY);
	default: /* no dup: there is no fd table beyond 0-2 */
		return kc_sys_ret(r, -EINVAL);
	}
}

/* fds 0-2 are pipes: the request has no input, the output goes to the log
 * a block at a time, as stdio buffers a pipe. */
static int stat_std(struct kc_vm *vm, uint64_t fd, uint64_t gva)
{
	struct stat st;

	if (fd > 2)
		return kc_file_fstat(vm, fd, gva);
	memset(&st, 0, sizeof(st));
	st.st_ino = fd + 1;
	st.st_nlink = 1;
	st.st_mode = S_IFIFO | 0600;
	st.st_uid = GUEST_ID;
	st.st_gid = GUEST_ID;
	st.st_blksize = 4096;
	return kc_sys_put(vm, gva, &st, sizeof(st));
}

int kc_sys_fstat(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, stat_std(vm, r->rdi, r->rsi));
}

/* A path from the guest: 0, or -EFAULT / -ENAMETOOLONG. */
static int guest_path(struct kc_vm *vm, uint64_t gva, const char **path)
{
	size_t len;

	*path = kc_gmem_str(vm->mem, &vm->img->lay, gva, PATH_MAX_GUEST, &len);
	if (*path)
		return 0;
	/* Readable but too long, or not readable at all? */
	return kc_sys_mem(vm, gva, 1, 0) ? -ENAMETOOLONG : -EFAULT;
}

int kc_sys_newfstatat(struct kc_vm *vm, struct kvm_regs *r)
{
	const char *path;
	int err = guest_path(vm, r->rsi, &path);

	if (err)
		return kc_sys_ret(r, err);
	if (path[0] == 0 && (r->r10 & AT_EMPTY_PATH))
		return kc_sys_ret(r, stat_std(vm, r->rdi, r->rdx));
	return kc_sys_ret(r, kc_file_stat(vm, (int32_t)r->rdi, path, r->rdx,
	                                  r->r10 & AT_SYMLINK_NOFOLLOW));
}

/* Files are the data_dir's (sys_file.c); every other path names nothing:
 * ENOENT rather than ENOSYS, so that runtimes probing /proc/self/maps take
 * the plain road. */
int kc_sys_open(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_file_open(vm, r);
}

int kc_sys_openat(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_file_openat(vm, r);
}

static int64_t read_link(struct kc_vm *vm, uint64_t path_gva, uint64_t buf,
                         uint64_t size)
{
	static const char exe[] = KC_EXE_PATH;
	const char *path;
	size_t n = sizeof(exe) - 1;
	char *p;
	int err = guest_path(vm, path_gva, &path);

	if (err)
		return err;
	if ((int64_t)(int32_t)size <= 0)
		return -EINVAL;
	if (strcmp(path, "/proc/self/exe") != 0)
		return -ENOENT;
	if (n > size)
		n = size; /* readlink truncates without a NUL */
	p = kc_sys_mem(vm, buf, n, KC_GMEM_WRITE);
	if (p == NULL)
		return -EFAULT;
	memcpy(p, exe, n);
	return (int64_t)n;
}

int kc_sys_readlink(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, read_link(vm, r->rdi, r->rsi, r->rdx));
}

int kc_sys_readlinkat(struct kc_vm *vm, struct kvm_regs *r)
{
	/* Relative paths from any directory find nothing either. */
	return kc_sys_ret(r, read_link(vm, r->rsi, r->rdx, r->r10));
}
