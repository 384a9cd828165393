/* The guest's read-only files (sys_file.c) on a VM made of plain memory:
 * a real directory tree, escapes, write flags, the fd limit, and the
 * snapshot's files coming back after a request.  No /dev/kvm needed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_vm.h"
#include "kc_files.h"
#include "kc_pagetable.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define BUF  0x400000ULL /* writable user pages: data */
#define PATH 0x401800ULL /* where a path is put */

static struct kc_image img;
static struct kc_vm vm;
static struct kc_result res;
static char base[64];

static void put_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void link_at(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	cr_assert_eq(symlink(target, path), 0, "%s", path);
}

/* base/secret outside the tree; base/data is the data_dir. */
static void make_tree(void)
{
	char path[256];

	strcpy(base, "/tmp/kc-files-XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/data", base);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/data/sub", base);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/data/fifo", base);
	cr_assert_eq(mkfifo(path, 0644), 0);
	put_file("secret", "SECRET");
	put_file("data/a.txt", "hello world");
	put_file("data/sub/c.txt", "c");
	link_at("/etc", "data/out");
	link_at("..", "data/up");
	link_at(base, "data/abs");
	link_at("sub", "data/dirlink");
	link_at("/proc/self/root", "data/proc");
}

static void make_vm(void)
{
	char err[128], path[256];
	uint64_t next;

	fake_vm_init(&vm, &img, 0x500000, &next);
	fake_vm_map(&vm, &next, BUF, 0x2000, KC_PTE_U | KC_PTE_W);
	vm.res = &res;
	make_tree();
	snprintf(path, sizeof(path), "%s/data", base);
	cr_assert_eq(kc_files_new(path, &vm.files, err, sizeof(err)), 0, "%s",
	             err);
}

static void free_vm(void)
{
	char cmd[128];

	kc_files_free(vm.files);
	free(vm.mem);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(sysfile, .init = make_vm, .fini = free_vm);

static int64_t call(int (*fn)(struct kc_vm *, struct kvm_regs *), uint64_t nr,
                    uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	struct kvm_regs r = {.rax = nr, .rdi = a, .rsi = b, .rdx = c, .r10 = d};

	cr_assert_eq(fn(&vm, &r), KC_RESUME);
	return (int64_t)r.rax;
}

static int64_t open_path(const char *path, int flags)
{
	strcpy((char *)vm.mem + PATH, path);
	return call(kc_sys_openat, SYS_openat, (uint64_t)AT_FDCWD, PATH,
	            (uint64_t)flags, 0);
}

static const char *read_fd(int64_t fd, size_t len)
{
	static char out[64];
	int64_t n = call(kc_file_read, SYS_read, (uint64_t)fd, BUF, len, 0);

	cr_assert_geq(n, 0, "read: %lld", (long long)n);
	memcpy(out, vm.mem + BUF, (size_t)n);
	out[n] = 0;
	return out;
}

Test(sysfile, reads_files_under_data)
{
	int64_t fd = open_path("/data/a.txt", O_RDONLY | O_CLOEXEC);

	cr_assert_eq(fd, 3);
	cr_assert_str_eq(read_fd(fd, 5), "hello");
	cr_assert_str_eq(read_fd(fd, 60), " world");
	cr_assert_str_eq(read_fd(fd, 60), "");
	cr_assert_eq(call(kc_file_lseek, SYS_lseek, 3, -5, SEEK_END, 0), 6);
	cr_assert_str_eq(read_fd(fd, 60), "world");
	cr_assert_eq(call(kc_file_pread64, SYS_pread64, 3, BUF, 4, 2), 4);
	cr_assert_eq(memcmp(vm.mem + BUF, "llo ", 4), 0);
	cr_assert_eq(kc_file_fcntl(&vm, 3, F_GETFD, 0), FD_CLOEXEC);
	cr_assert_eq(call(kc_file_close, SYS_close, 3, 0, 0, 0), 0);
	cr_assert_eq(call(kc_file_read, SYS_read, 3, BUF, 4, 0), -EBADF);
	cr_assert_eq(open_path("data/sub/c.txt", O_RDONLY), 3, "relative");
	cr_assert_eq(open_path("/data//dirlink/c.txt", O_RDONLY), 4);
	cr_assert_eq(open_path("/data/dirlink/../a.txt", O_RDONLY), 5,
	             "'..' after a symlink inside the tree stays inside");
	cr_assert_str_eq(read_fd(5, 5), "hello");
}

/* Offsets near INT64_MAX: EINVAL, never a signed overflow (which stops
 * the sanitizer build's worker) nor a wrapped position. */
Test(sysfile, lseek_past_the_largest_offset_is_einval)
{
	const uint64_t max = INT64_MAX;
	int64_t fd = open_path("/data/a.txt", O_RDONLY);

	cr_assert_eq(fd, 3);
	cr_assert_eq(call(kc_file_lseek, SYS_lseek, 3, max, SEEK_SET, 0),
	             INT64_MAX);
	cr_assert_eq(call(kc_file_lseek, SYS_lseek, 3, 1, SEEK_CUR, 0),
	             -EINVAL);
	cr_assert_eq(call(kc_file_lseek, SYS_lseek, 3, max, SEEK_END, 0),
	             -EINVAL);
	cr_assert_eq(call(kc_file_lseek, SYS_lseek, 3, 0, SEEK_CUR, 0),
	             INT64_MAX, "a refused seek moves nothing");
}

Test(sysfile, paths_never_leave_the_tree)
{
	char path[256];
	static const char *const escapes[] = {
	    "/data/../secret",
	    "/data/../../secret",
	    "/data/up/secret",
	    "/data/sub/../../secret",
	    "/data/dirlink/../../secret",
	    "/data/out/passwd",
	    "/etc/passwd",
	    "/data/proc/etc/passwd",
	    "/proc/self/root/etc/passwd",
	    "../secret",
	};
	size_t i;

	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
		cr_assert_lt(open_path(escapes[i], O_RDONLY), 0, "%s",
		             escapes[i]);
	snprintf(path, sizeof(path), "/data/abs/secret");
	cr_assert_lt(open_path(path, O_RDONLY), 0,
	             "an absolute symlink is read inside the tree");
	snprintf(path, sizeof(path), "%s/secret", base);
	cr_assert_eq(open_path(path, O_RDONLY), -ENOENT);
	cr_assert_eq(open_path("/data/fifo", O_RDONLY), -EACCES,
	             "no FIFOs or devices");
}

/* A FIFO's type is seen without opening it: a writer waiting for a
 * reader (as a device's driver would run its open) stays waiting. */
Test(sysfile, a_fifo_is_refused_without_being_opened)
{
	char fifo[128], sc[64] = "";
	struct pollfd pf;
	int p[2], i, fd;
	pid_t pid;

	snprintf(fifo, sizeof(fifo), "%s/data/fifo", base);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		fd = open(fifo, O_WRONLY); /* until a reader opens it */
		if (write(p[1], "o", 1) != 1)
			_exit(2);
		_exit(fd < 0);
	}
	close(p[1]);
	/* the writer in open() (2) or openat() (257) */
	snprintf(fifo, sizeof(fifo), "/proc/%d/syscall", (int)pid);
	for (i = 0; i < 1000 && strncmp(sc, "257 ", 4) && strncmp(sc, "2 ", 2);
	     i++) {
		FILE *f = fopen(fifo, "r");

		sc[0] = 0;
		if (f && fgets(sc, sizeof(sc), f) == NULL)
			sc[0] = 0;
		if (f)
			fclose(f);
		usleep(1000);
	}
	cr_assert(strncmp(sc, "257 ", 4) == 0 || strncmp(sc, "2 ", 2) == 0,
	          "the writer is not waiting in open: %s", sc);
	cr_assert_eq(open_path("/data/fifo", O_RDONLY), -EACCES);
	cr_assert_eq(open_path("/data/fifo", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	cr_assert_eq(open_path("/data/dirlink", O_RDONLY | O_NOFOLLOW), -ELOOP);
	pf = (struct pollfd){p[0], POLLIN, 0};
	i = poll(&pf, 1, 300);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	cr_assert_eq(i, 0, "the FIFO was opened: its writer went on");
}

Test(sysfile, writes_are_erofs)
{
	cr_assert_eq(open_path("/data/a.txt", O_WRONLY), -EROFS);
	cr_assert_eq(open_path("/data/new", O_RDWR | O_CREAT), -EROFS);
	cr_assert_eq(open_path("/data/a.txt", O_RDONLY | O_TRUNC), -EROFS);
	cr_assert_eq(open_path("/tmp/x", O_WRONLY | O_CREAT), -ENOENT);
	strcpy((char *)vm.mem + PATH, "/data/a.txt");
	cr_assert_eq(call(kc_file_access, SYS_access, PATH, W_OK, 0, 0),
	             -EROFS);
	cr_assert_eq(call(kc_file_access, SYS_access, PATH, R_OK, 0, 0), 0);
	cr_assert_eq(call(kc_file_access, SYS_access, PATH, X_OK, 0, 0),
	             -EACCES);
	strcpy((char *)vm.mem + PATH, "/data/none");
	cr_assert_eq(call(kc_file_access, SYS_access, PATH, F_OK, 0, 0),
	             -ENOENT);
}

Test(sysfile, fd_limit)
{
	int i;

	for (i = 3; i < KC_NOFILE; i++)
		cr_assert_eq(open_path("/data/a.txt", O_RDONLY), i);
	cr_assert_eq(open_path("/data/a.txt", O_RDONLY), -EMFILE);
	cr_assert_eq(call(kc_file_close, SYS_close, 10, 0, 0, 0), 0);
	cr_assert_eq(open_path("/data/a.txt", O_RDONLY), 10);
}

Test(sysfile, stat_and_directories)
{
	struct stat *st = (struct stat *)(vm.mem + BUF);
	char names[256] = "";
	int64_t fd, n, pos;

	strcpy((char *)vm.mem + PATH, "/data/a.txt");
	cr_assert_eq(call(kc_sys_newfstatat, SYS_newfstatat, (uint64_t)AT_FDCWD,
	                  PATH, BUF, 0),
	             0);
	cr_assert_eq(st->st_size, 11);
	cr_assert(S_ISREG(st->st_mode));
	cr_assert_eq(st->st_mode & 0222, 0, "read-only to the guest");
	strcpy((char *)vm.mem + PATH, "/data/dirlink");
	cr_assert_eq(call(kc_file_stat_path, SYS_lstat, PATH, BUF, 0, 0), 0);
	cr_assert(S_ISLNK(st->st_mode));
	cr_assert_eq(call(kc_file_stat_path, SYS_stat, PATH, BUF, 0, 0), 0);
	cr_assert(S_ISDIR(st->st_mode));
	fd = open_path("/data", O_RDONLY | O_DIRECTORY);
	cr_assert_eq(fd, 3, "%lld", (long long)fd);
	cr_assert_eq(call(kc_file_read, SYS_read, 3, BUF, 8, 0), -EISDIR);
	n = call(kc_file_getdents64, SYS_getdents64, 3, BUF, 0x1000, 0);
	cr_assert_gt(n, 0);
	for (pos = 0; pos < n;) {
		struct dirent64 *d = (struct dirent64 *)(vm.mem + BUF + pos);

		if (d->d_name[0] != '.' &&
		    strlen(names) + strlen(d->d_name) + 2 < sizeof(names)) {
			strcat(names, d->d_name);
			strcat(names, ",");
		}
		pos += d->d_reclen;
	}
	cr_assert(strstr(names, "a.txt,") && strstr(names, "sub,"), "%s",
	          names);
	cr_assert_eq(
	    call(kc_file_getdents64, SYS_getdents64, 3, BUF, 0x1000, 0), 0,
	    "the end");
	/* openat relative to a directory fd, never above it */
	strcpy((char *)vm.mem + PATH, "sub/c.txt");
	cr_assert_eq(call(kc_sys_openat, SYS_openat, 3, PATH, O_RDONLY, 0), 4);
	strcpy((char *)vm.mem + PATH, "../secret");
	cr_assert_lt(call(kc_sys_openat, SYS_openat, 3, PATH, O_RDONLY, 0), 0);
}

Test(sysfile, urandom_poll_and_locks)
{
	struct pollfd *p = (struct pollfd *)(vm.mem + BUF + 0x100);
	short *lock = (short *)(vm.mem + BUF + 0x200);

	cr_assert_eq(open_path("/dev/urandom", O_RDONLY), 3);
	cr_assert_eq(call(kc_file_read, SYS_read, 3, BUF, 32, 0), 32);
	cr_assert_eq(open_path("/data/a.txt", O_RDONLY), 4);
	p[0] = (struct pollfd){.fd = 4, .events = POLLIN};
	cr_assert_eq(call(kc_sys_poll, SYS_poll, BUF + 0x100, 1, 0, 0), 1);
	cr_assert_eq(p[0].revents, POLLIN);
	cr_assert_eq(kc_file_fcntl(&vm, 4, F_SETLK, BUF + 0x200), 0);
	*lock = F_WRLCK;
	cr_assert_eq(kc_file_fcntl(&vm, 4, F_GETLK, BUF + 0x200), 0);
	cr_assert_eq(*lock, F_UNLCK);
	cr_assert_eq(open_path("/dev/urandom", O_WRONLY), -EROFS);
}

/* main() opens a file and reads into it; the snapshot keeps it.  A request
 * moves its offset, closes it and opens another: the next request finds
 * the snapshot's file at the snapshot's offset, and no other. */
Test(sysfile, snapshot_files_come_back)
{
	struct kc_files *snap;

	cr_assert_eq(open_path("/data/a.txt", O_RDONLY), 3);
	cr_assert_str_eq(read_fd(3, 6), "hello ");
	snap = vm.files; /* what kc_image_boot does after main() */
	vm.files = kc_files_clone(snap);
	cr_assert_not_null(vm.files);
	cr_assert_str_eq(read_fd(3, 3), "wor");
	cr_assert_eq(open_path("/data/sub/c.txt", O_RDONLY), 4);
	cr_assert_eq(call(kc_file_close, SYS_close, 3, 0, 0, 0), 0);
	kc_files_reset(vm.files, snap);
	cr_assert_eq(call(kc_file_read, SYS_read, 4, BUF, 1, 0), -EBADF,
	             "the request's file is closed");
	cr_assert_str_eq(read_fd(3, 60), "world", "offset back to main()'s");
	kc_files_reset(vm.files, snap);
	cr_assert_str_eq(read_fd(3, 60), "world");
	kc_files_free(vm.files);
	vm.files = snap;
}

Test(sysfile, missing_data_dir_is_a_clear_error)
{
	struct kc_files *t = NULL;
	char err[128] = "";

	cr_assert_eq(kc_files_new("/nonexistent/tree", &t, err, sizeof(err)),
	             -ENOENT);
	cr_assert_str_eq(err, "data_dir /nonexistent/tree: No such file or "
	                      "directory");
	cr_assert_null(t);
}

Test(sysfile, statx_as_rust_asks)
{
	struct statx *sx = (struct statx *)(vm.mem + BUF);
	struct kvm_regs r;

	strcpy((char *)vm.mem + PATH, "/data/a.txt");
	r = (struct kvm_regs){.rax = SYS_statx,
	                      .rdi = (uint64_t)AT_FDCWD,
	                      .rsi = PATH,
	                      .r10 = STATX_ALL,
	                      .r8 = BUF};
	cr_assert_eq(kc_file_statx(&vm, &r), KC_RESUME);
	cr_assert_eq(r.rax, 0);
	cr_assert_eq(sx->stx_size, 11);
	cr_assert(S_ISREG(sx->stx_mode));
	cr_assert_eq(sx->stx_mode & 0222, 0);
	cr_assert_eq(open_path("/data/sub/c.txt", O_RDONLY), 3);
	strcpy((char *)vm.mem + PATH, "");
	r = (struct kvm_regs){.rax = SYS_statx,
	                      .rdi = 3,
	                      .rsi = PATH,
	                      .rdx = AT_EMPTY_PATH,
	                      .r10 = STATX_SIZE,
	                      .r8 = BUF};
	cr_assert_eq(kc_file_statx(&vm, &r), KC_RESUME);
	cr_assert_eq(r.rax, 0);
	cr_assert_eq(sx->stx_size, 1);
	r.rdi = 1;
	cr_assert_eq(kc_file_statx(&vm, &r), KC_RESUME);
	cr_assert(S_ISFIFO(sx->stx_mode), "stdout is a pipe");
	r.rdi = 9;
	cr_assert_eq(kc_file_statx(&vm, &r), KC_RESUME);
	cr_assert_eq((int64_t)r.rax, -EBADF);
}

/* readv and preadv gather into several buffers: a short file ends the
 * gathering, preadv leaves the offset where it was, readv moves it. */
Test(sysfile, readv_and_preadv)
{
	struct iovec iov[3] = {
	    {(void *)(BUF + 0x100), 3},
	    {(void *)(BUF + 0x200), 0},
	    {(void *)(BUF + 0x300), 4},
	};
	int64_t n, fd = open_path("/data/a.txt", O_RDONLY);

	cr_assert_eq(fd, 3);
	/* An odd address for the vector: copied in, never used in place. */
	memcpy(vm.mem + BUF + 1, iov, sizeof(iov));
	cr_assert_eq(call(kc_file_readv, SYS_readv, 3, BUF + 1, 3, 0), 7);
	cr_assert_eq(memcmp(vm.mem + BUF + 0x100, "hel", 3), 0);
	cr_assert_eq(memcmp(vm.mem + BUF + 0x300, "lo w", 4), 0);
	cr_assert_str_eq(read_fd(fd, 60), "orld");
	memcpy(vm.mem + BUF + 1, iov, sizeof(iov)); /* read_fd wrote there */
	n = call(kc_file_preadv, SYS_preadv, 3, BUF + 1, 3, 6);
	cr_assert_eq(n, 5, "preadv: %lld", (long long)n);
	cr_assert_eq(memcmp(vm.mem + BUF + 0x100, "wor", 3), 0);
	cr_assert_eq(memcmp(vm.mem + BUF + 0x300, "ld", 2), 0);
	cr_assert_str_eq(read_fd(fd, 60), "", "preadv moved the offset");
	memcpy(vm.mem + BUF + 1, iov, sizeof(iov));
	cr_assert_eq(call(kc_file_readv, SYS_readv, 3, BUF + 1, 1025, 0),
	             -EINVAL);
	cr_assert_eq(call(kc_file_readv, SYS_readv, 3, 0x10, 1, 0), -EFAULT);
	cr_assert_eq(call(kc_file_readv, SYS_readv, 9, BUF + 1, 1, 0), -EBADF);
	cr_assert_eq(
	    call(kc_file_preadv, SYS_preadv, 3, BUF + 1, 1, (uint64_t)-1),
	    -EINVAL);
}
