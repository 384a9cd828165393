/* Read-only files for the guest: the tenant's data_dir seen at /data, and
 * /dev/urandom.  Paths are resolved by the kernel, openat2() with
 * RESOLVE_IN_ROOT, so that no "..", symlink or magic link leaves the tree;
 * files opened in main() belong to the snapshot (see kc_files_reset).
 * Host calls: openat2, openat, pread64, lseek, getdents64, fstat, statx,
 * dup, close, getrandom. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kc_files.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define READ_MAX (1u << 20) /* per call: a short read, as Linux may do */

enum file_kind { FILE_FREE, FILE_REG, FILE_DIR, FILE_URANDOM };

struct kc_file {
	int fd;     /* host fd (-1 for /dev/urandom) */
	int dir_fd; /* this VM's own description for getdents64, or -1 */
	uint8_t kind;
	bool owned; /* this table closes fd: opened by the request */
	bool cloexec;
	uint64_t off;
};

struct kc_files {
	int root;       /* data_dir (O_PATH), or -1 */
	bool owns_root; /* the image's table, or the booting VM's */
	/* An entry was handed out (entry(), file_open) since the table was
	 * last the snapshot's: only then has the reset anything to undo. */
	bool used;
	struct kc_file f[KC_NOFILE];
};

static struct kc_files *files_alloc(void)
{
	struct kc_files *t = calloc(1, sizeof(*t));
	int i;

	if (t == NULL)
		return NULL;
	t->root = -1;
	for (i = 0; i < KC_NOFILE; i++)
		t->f[i].fd = t->f[i].dir_fd = -1;
	return t;
}

int kc_files_new(const char *data_dir, struct kc_files **out, char *err,
                 size_t errlen)
{
	struct kc_files *t = files_alloc();
	int r;

	if (t == NULL)
		return -ENOMEM;
	if (data_dir) {
		t->root = open(data_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (t->root < 0) {
			r = -errno;
			snprintf(err, errlen, "data_dir %s: %s", data_dir,
			         strerror(-r));
			free(t);
			return r;
		}
	}
	t->owns_root = true;
	*out = t;
	return 0;
}

static void close_entry(struct kc_file *e)
{
	if (e->owned && e->fd >= 0)
		close(e->fd);
	if (e->dir_fd >= 0)
		close(e->dir_fd);
	*e = (struct kc_file){.fd = -1, .dir_fd = -1};
}

void kc_files_free(struct kc_files *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 3; i < KC_NOFILE; i++)
		close_entry(&t->f[i]);
	if (t->owns_root && t->root >= 0)
		close(t->root);
	free(t);
}

/* The snapshot's files as a VM starts with them: shared host fds (the
 * image closes them), offsets of their own. */
static void copy_from(struct kc_files *t, const struct kc_files *img)
{
	int i;

	if (img == NULL)
		return;
	t->root = img->root;
	t->owns_root = false;
	for (i = 3; i < KC_NOFILE; i++) {
		t->f[i] = img->f[i];
		t->f[i].owned = false;
		t->f[i].dir_fd = -1;
	}
}

struct kc_files *kc_files_clone(const struct kc_files *img)
{
	struct kc_files *t = files_alloc();

	if (t)
		copy_from(t, img);
	return t;
}

void kc_files_reset(struct kc_files *t, const struct kc_files *img)
{
	int i;

	if (t == NULL || !t->used)
		return;
	for (i = 3; i < KC_NOFILE; i++)
		close_entry(&t->f[i]);
	copy_from(t, img);
	t->used = false;
}

static struct kc_file *entry(struct kc_vm *vm, uint64_t fd)
{
	struct kc_files *t = vm->files;

	if (t == NULL || fd < 3 || fd >= KC_NOFILE ||
	    t->f[fd].kind == FILE_FREE)
		return NULL;
	t->used = true; /* its offset or flags may change */
	return &t->f[fd];
}

bool kc_file_is_open(struct kc_vm *vm, uint64_t fd)
{
	return entry(vm, fd) != NULL;
}

/* Where a guest path lies: *base and *rel for openat2, with how to resolve
 * it.  0, or -ENOENT for paths outside /data (there is nothing else). */
static int locate(struct kc_vm *vm, int64_t dirfd, const char *path, int *base,
                  const char **rel, __u64 *resolve)
{
	const char *p = path;
	struct kc_file *d;

	if (p[0] != '/' && dirfd != AT_FDCWD) {
		d = entry(vm, (uint64_t)dirfd);
		if (d == NULL)
			return -EBADF;
		if (d->kind != FILE_DIR)
			return -ENOTDIR;
		/* Relative to a directory: never above it. */
		*base = d->fd;
		*rel = p[0] ? p : ".";
		*resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		return 0;
	}
	while (*p == '/')
		p++; /* the working directory is "/" */
	if (vm->files == NULL || vm->files->root < 0 ||
	    strncmp(p, "data", 4) != 0 || (p[4] != 0 && p[4] != '/'))
		return -ENOENT;
	for (p += 4; *p == '/'; p++)
		;
	*base = vm->files->root;
	*rel = p[0] ? p : ".";
	*resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return 0;
}

/* A host fd for a guest path, O_PATH or read-only; -errno otherwise. */
static int resolve_path(struct kc_vm *vm, int64_t dirfd, const char *path,
                        uint64_t oflags)
{
	/* openat2 refuses flags that mean nothing with O_PATH. */
	struct open_how how = {.flags = oflags | O_CLOEXEC |
	                                (oflags & O_PATH ? 0 : O_NOCTTY)};
	const char *rel;
	int base, r = locate(vm, dirfd, path, &base, &rel, &how.resolve);
	long fd;

	if (r)
		return r;
	fd = syscall(SYS_openat2, base, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int guest_str(struct kc_vm *vm, uint64_t gva, const char **s)
{
	size_t len;

	*s = kc_gmem_str(vm->mem, &vm->img->lay, gva, 4096, &len);
	if (*s)
		return 0;
	return kc_sys_mem(vm, gva, 1, 0) ? -ENAMETOOLONG : -EFAULT;
}

static int free_slot(struct kc_vm *vm)
{
	int i;

	for (i = 3; i < KC_NOFILE; i++)
		if (vm->files->f[i].kind == FILE_FREE)
			return i;
	return -EMFILE;
}

static bool is_urandom(const char *path)
{
	return strcmp(path, "/dev/urandom") == 0 ||
	       strcmp(path, "/dev/random") == 0;
}

/* Only a regular file or a directory: its type is looked at through an
 * O_PATH fd, which opens nothing, so that a FIFO or device node in the
 * tree never sees an open (a writer waiting on the FIFO, a driver's open
 * routine).  -EACCES otherwise. */
static int plain_file(struct kc_vm *vm, int64_t dirfd, const char *path,
                      uint64_t flags, struct stat *st)
{
	int fd = resolve_path(vm, dirfd, path, O_PATH | flags), r;

	if (fd < 0)
		return fd;
	r = fstat(fd, st) ? -errno : 0;
	close(fd);
	if (r == 0 && S_ISLNK(st->st_mode))
		r = -ELOOP; /* O_NOFOLLOW's answer, as open gives it */
	else if (r == 0 && !S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		r = -EACCES;
	return r;
}

/* Open for reading, a regular file or a directory.  What the open found
 * must be what plain_file saw (the tree changing in between is
 * refused); O_NONBLOCK keeps that open from waiting in any case. */
static int64_t file_open(struct kc_vm *vm, int64_t dirfd, uint64_t path_gva,
                         uint64_t flags)
{
	const char *path;
	struct kc_file *e;
	struct stat st, seen;
	int slot, fd, r = guest_str(vm, path_gva, &path);

	if (r)
		return r;
	if (vm->files == NULL)
		return -ENOENT;
	/* O_TMPFILE includes O_DIRECTORY's bit: compare it whole. */
	if ((flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_CREAT | O_TRUNC | O_APPEND)) ||
	    (flags & O_TMPFILE) == O_TMPFILE) {
		const char *rel;
		__u64 resolve;

		if (is_urandom(path) ||
		    locate(vm, dirfd, path, &fd, &rel, &resolve) == 0)
			return -EROFS; /* the tree is there, read-only */
		return -ENOENT;
	}
	slot = free_slot(vm);
	if (slot < 0)
		return slot;
	vm->files->used = true;
	e = &vm->files->f[slot];
	if (is_urandom(path)) {
		*e = (struct kc_file){
		    .fd = -1, .dir_fd = -1, .kind = FILE_URANDOM};
		e->cloexec = flags & O_CLOEXEC;
		return slot;
	}
	r = plain_file(vm, dirfd, path, flags & (O_DIRECTORY | O_NOFOLLOW),
	               &seen);
	if (r)
		return r;
	fd = resolve_path(vm, dirfd, path,
	                  O_RDONLY | O_NONBLOCK |
	                      (flags & (O_DIRECTORY | O_NOFOLLOW)));
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || st.st_dev != seen.st_dev ||
	    st.st_ino != seen.st_ino) {
		close(fd);
		return -EACCES;
	}
	*e = (struct kc_file){.fd = fd,
	                      .dir_fd = -1,
	                      .owned = true,
	                      .kind = S_ISDIR(st.st_mode) ? FILE_DIR : FILE_REG,
	                      .cloexec = (flags & O_CLOEXEC) != 0};
	return slot;
}

int kc_file_open(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, file_open(vm, AT_FDCWD, r->rdi, r->rsi));
}

int kc_file_openat(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, file_open(vm, (int32_t)r->rdi, r->rsi, r->rdx));
}

static int64_t file_read(struct kc_vm *vm, uint64_t fd, uint64_t buf,
                         uint64_t len, uint64_t *off)
{
	struct kc_file *e = entry(vm, fd);
	ssize_t n;
	void *p;

	if (e == NULL)
		return -EBADF;
	if (e->kind == FILE_DIR)
		return -EISDIR;
	if (len > READ_MAX)
		len = READ_MAX;
	p = kc_sys_mem(vm, buf, len, KC_GMEM_WRITE);
	if (p == NULL)
		return -EFAULT;
	if (e->kind == FILE_URANDOM)
		n = getrandom(p, len, 0);
	else
		n = pread(e->fd, p, len, (off_t)(off ? *off : e->off));
	if (n < 0)
		return -errno;
	if (off == NULL && e->kind == FILE_REG)
		e->off += (uint64_t)n;
	return n;
}

int kc_file_read(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, file_read(vm, r->rdi, r->rsi, r->rdx, NULL));
}

int kc_file_pread64(struct kc_vm *vm, struct kvm_regs *r)
{
	uint64_t off = r->r10;

	if ((int64_t)off < 0)
		return kc_sys_ret(r, -EINVAL);
	return kc_sys_ret(r, file_read(vm, r->rdi, r->rsi, r->rdx, &off));
}

/* readv, preadv: file_read per buffer, until a short one.  The vector is
 * copied in (any alignment); at most IOV_MAX entries, as Linux. */
static int64_t file_readv(struct kc_vm *vm, uint64_t fd, uint64_t gva,
                          uint64_t count, uint64_t *off)
{
	struct iovec iov[IOV_MAX];
	uint64_t i, total = 0;
	int64_t n;

	if (count > IOV_MAX)
		return -EINVAL;
	if (entry(vm, fd) == NULL)
		return -EBADF;
	if (count && kc_sys_get(vm, iov, gva, count * sizeof(*iov)))
		return -EFAULT;
	for (i = 0; i < count; i++) {
		n = file_read(vm, fd, (uintptr_t)iov[i].iov_base,
		              iov[i].iov_len, off);
		if (n < 0)
			return total ? (int64_t)total : n;
		total += (uint64_t)n;
		if (off)
			*off += (uint64_t)n;
		if ((uint64_t)n < iov[i].iov_len || total >= READ_MAX)
			break;
	}
	return (int64_t)total;
}

int kc_file_readv(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, file_readv(vm, r->rdi, r->rsi, r->rdx, NULL));
}

int kc_file_preadv(struct kc_vm *vm, struct kvm_regs *r)
{
	uint64_t off = r->r10;

	if ((int64_t)off < 0)
		return kc_sys_ret(r, -EINVAL);
	return kc_sys_ret(r, file_readv(vm, r->rdi, r->rsi, r->rdx, &off));
}

int kc_file_lseek(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_file *e = entry(vm, r->rdi);
	int64_t base = 0, pos;
	struct stat st;

	if (e == NULL)
		return kc_sys_ret(r, -EBADF);
	if (e->kind == FILE_URANDOM)
		return kc_sys_ret(r, 0);
	switch (r->rdx) {
	case SEEK_SET:
		break;
	case SEEK_CUR:
		base = (int64_t)e->off;
		break;
	case SEEK_END:
		if (e->kind == FILE_DIR || fstat(e->fd, &st))
			return kc_sys_ret(r, -EINVAL);
		base = st.st_size;
		break;
	default:
		return kc_sys_ret(r, -EINVAL);
	}
	/* base and the offset are the guest's: their sum may overflow */
	if (__builtin_add_overflow(base, (int64_t)r->rsi, &pos) || pos < 0)
		return kc_sys_ret(r, -EINVAL);
	e->off = (uint64_t)pos; /* a directory's is getdents64's cookie */
	return kc_sys_ret(r, pos);
}

int kc_file_close(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_file *e = entry(vm, r->rdi);

	if (e == NULL)
		return kc_sys_ret(r, -EBADF);
	close_entry(e); /* the snapshot's host fd stays with the image */
	return kc_sys_ret(r, 0);
}

int kc_file_getdents64(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_file *e = entry(vm, r->rdi);
	uint64_t len = r->rdx < READ_MAX ? r->rdx : READ_MAX;
	void *p;
	long n;

	if (e == NULL)
		return kc_sys_ret(r, -EBADF);
	if (e->kind != FILE_DIR)
		return kc_sys_ret(r, -ENOTDIR);
	p = kc_sys_mem(vm, r->rsi, len, KC_GMEM_WRITE);
	if (p == NULL)
		return kc_sys_ret(r, -EFAULT);
	/* The position lives in the host's file description, which the
	 * snapshot's fds share with every worker: read through one of this
	 * VM's own, placed at this VM's offset. */
	if (e->dir_fd < 0)
		e->dir_fd = e->owned
		                ? dup(e->fd)
		                : openat(e->fd, ".",
		                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dir_fd < 0 || lseek(e->dir_fd, (off_t)e->off, SEEK_SET) < 0)
		return kc_sys_ret(r, -errno);
	n = syscall(SYS_getdents64, e->dir_fd, p, len);
	if (n < 0)
		return kc_sys_ret(r, -errno);
	e->off = (uint64_t)lseek(e->dir_fd, 0, SEEK_CUR);
	return kc_sys_ret(r, n);
}

/* What the guest sees of a file: read-only, as the tree is to it. */
static int put_stat(struct kc_vm *vm, uint64_t gva, const struct stat *st)
{
	struct stat out = *st;

	out.st_mode &= ~(mode_t)0222;
	return kc_sys_put(vm, gva, &out, sizeof(out));
}

int kc_file_fstat(struct kc_vm *vm, uint64_t fd, uint64_t gva)
{
	struct kc_file *e = entry(vm, fd);
	struct stat st;

	if (e == NULL)
		return -EBADF;
	if (e->kind == FILE_URANDOM) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFCHR | 0444;
		st.st_rdev = makedev(1, 9);
		st.st_nlink = 1;
	} else if (fstat(e->fd, &st)) {
		return -errno;
	}
	return put_stat(vm, gva, &st);
}

int kc_file_stat(struct kc_vm *vm, int64_t dirfd, const char *path,
                 uint64_t gva, bool nofollow)
{
	struct stat st;
	int fd, r;

	if (is_urandom(path)) {
		memset(&st, 0, sizeof(st));
		st.st_mode = S_IFCHR | 0444;
		st.st_rdev = makedev(1, 9);
		return put_stat(vm, gva, &st);
	}
	fd =
	    resolve_path(vm, dirfd, path, O_PATH | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fd;
	r = fstat(fd, &st) ? -errno : put_stat(vm, gva, &st);
	close(fd);
	return r;
}

static int64_t file_access(struct kc_vm *vm, int64_t dirfd, uint64_t gva,
                           uint64_t mode)
{
	const char *path;
	struct stat st;
	int fd, r = guest_str(vm, gva, &path);

	if (r)
		return r;
	fd = is_urandom(path) ? -1 : resolve_path(vm, dirfd, path, O_PATH);
	if (fd < 0 && !is_urandom(path))
		return fd;
	r = fd >= 0 && fstat(fd, &st) ? -errno : 0;
	if (r == 0 && (mode & W_OK))
		r = -EROFS;
	else if (r == 0 && (mode & X_OK) && fd >= 0 && !(st.st_mode & 0111))
		r = -EACCES;
	if (fd >= 0)
		close(fd);
	return r;
}

int kc_file_access(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, file_access(vm, AT_FDCWD, r->rdi, r->rsi));
}

int kc_file_faccessat(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_sys_ret(r, file_access(vm, (int32_t)r->rdi, r->rsi, r->rdx));
}

int kc_file_stat_path(struct kc_vm *vm, struct kvm_regs *r)
{
	const char *path;
	int err = guest_str(vm, r->rdi, &path);

	if (err)
		return kc_sys_ret(r, err);
	return kc_sys_ret(
	    r, kc_file_stat(vm, AT_FDCWD, path, r->rsi, r->rax == SYS_lstat));
}

int64_t kc_file_fcntl(struct kc_vm *vm, uint64_t fd, uint64_t cmd, uint64_t arg)
{
	struct kc_file *e = entry(vm, fd);
	static const short unlocked = F_UNLCK; /* struct flock's l_type */

	if (e == NULL)
		return -EBADF;
	switch (cmd) {
	case F_GETFD:
		return e->cloexec ? FD_CLOEXEC : 0;
	case F_SETFD:
		e->cloexec = arg & FD_CLOEXEC;
		return 0;
	case F_GETFL:
		return O_RDONLY;
	case F_SETFL:
		return 0;
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return 0; /* nobody else can write: locks change nothing */
	case F_GETLK:
	case F_OFD_GETLK:
		return kc_sys_put(vm, arg, &unlocked, sizeof(unlocked));
	default:
		return -EINVAL;
	}
}

/* statx of what fd or path names: Rust's std asks statx first. */
static int64_t file_statx(struct kc_vm *vm, int64_t dirfd, const char *path,
                          uint64_t flags, uint32_t mask, struct statx *sx)
{
	struct kc_file *e;
	int fd, r;

	memset(sx, 0, sizeof(*sx));
	if (path[0] == 0 && (flags & AT_EMPTY_PATH) && dirfd >= 0 &&
	    dirfd <= 2) { /* the standard fds are pipes, as fstat says */
		sx->stx_mask = STATX_BASIC_STATS;
		sx->stx_mode = S_IFIFO | 0600;
		sx->stx_nlink = 1;
		sx->stx_uid = sx->stx_gid = 65534;
		sx->stx_blksize = 4096;
		sx->stx_ino = (uint64_t)dirfd + 1;
		return 0;
	}
	if (path[0] == 0 && (flags & AT_EMPTY_PATH)) {
		e = entry(vm, (uint64_t)dirfd);
		if (e == NULL)
			return -EBADF;
		if (e->kind == FILE_URANDOM) {
			sx->stx_mask = STATX_BASIC_STATS;
			sx->stx_mode = S_IFCHR | 0444;
			sx->stx_rdev_major = 1;
			sx->stx_rdev_minor = 9;
			return 0;
		}
		return statx(e->fd, "", AT_EMPTY_PATH, mask, sx) ? -errno : 0;
	}
	fd = resolve_path(vm, dirfd, path,
	                  O_PATH |
	                      (flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fd;
	r = statx(fd, "", AT_EMPTY_PATH, mask, sx) ? -errno : 0;
	close(fd);
	return r;
}

int kc_file_statx(struct kc_vm *vm, struct kvm_regs *r)
{
	struct statx sx;
	const char *path;
	int64_t err = guest_str(vm, r->rsi, &path);

	if (err == 0)
		err = file_statx(vm, (int32_t)r->rdi, path, r->rdx,
		                 (uint32_t)r->r10, &sx);
	if (err)
		return kc_sys_ret(r, err);
	sx.stx_mode &= (uint16_t)~0222; /* read-only, as the tree is */
	return kc_sys_ret(r, kc_sys_put(vm, r->r8, &sx, sizeof(sx)));
}
