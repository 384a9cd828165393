/* Unit tests for worker privileges: the switch to an unprivileged user
 * and the seccomp allow-list, each applied in a forked child exactly as
 * a worker applies it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"
#include "log.h"
#include "seccomp_filter.h"

#define NOBODY 65534

/* Run fn in a child; returns its wait status. */
static int in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* The value of "Key:" in /proc/self/status as text read into buf. */
static const char *status_field(const char *text, const char *key, char *out,
                                size_t len)
{
	const char *p = strstr(text, key);

	cr_assert_not_null(p, "no %s in\n%s", key, text);
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
	return out;
}

static int status_pipe[2];

static void jail_and_report(void *arg)
{
	const struct fs_jail *j = arg;
	char buf[4096], err[256];
	int fd;
	ssize_t n;

	if (fs_jail_enter(j, err, sizeof(err))) {
		dprintf(status_pipe[1], "error: %s", err);
		_exit(1);
	}
	fd = open("/proc/self/status", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (n > 0 && write(status_pipe[1], buf, (size_t)n) != n)
		_exit(2);
	_exit(0);
}

static void expect_jailed(const struct fs_jail *j, const char *uid_line)
{
	static char text[4096];
	char v[128];
	ssize_t n;
	int st;

	cr_assert_eq(pipe(status_pipe), 0);
	st = in_child(jail_and_report, (void *)j);
	close(status_pipe[1]);
	n = read(status_pipe[0], text, sizeof(text) - 1);
	close(status_pipe[0]);
	text[n > 0 ? n : 0] = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", text);
	cr_assert_str_eq(status_field(text, "Uid:", v, sizeof(v)), uid_line);
	cr_assert_str_eq(status_field(text, "CapEff:", v, sizeof(v)),
	                 "0000000000000000");
	cr_assert_str_eq(status_field(text, "CapPrm:", v, sizeof(v)),
	                 "0000000000000000");
	cr_assert_str_eq(status_field(text, "CapInh:", v, sizeof(v)),
	                 "0000000000000000");
	cr_assert_str_eq(status_field(text, "CapBnd:", v, sizeof(v)),
	                 "0000000000000000");
	cr_assert_str_eq(status_field(text, "CapAmb:", v, sizeof(v)),
	                 "0000000000000000");
	cr_assert_str_eq(status_field(text, "NoNewPrivs:", v, sizeof(v)), "1");
}

Test(jail, worker_drops_to_its_user_with_no_capabilities)
{
	struct fs_jail j = {.switch_user = true, .uid = NOBODY, .gid = NOBODY};

	if (geteuid() != 0)
		cr_skip_test("needs root to switch users");
	expect_jailed(&j, "65534\t65534\t65534\t65534");
}

Test(jail, root_workers_keep_uid_0_but_no_capability)
{
	struct fs_jail j = {.switch_user = false};

	if (geteuid() != 0)
		cr_skip_test("needs root");
	expect_jailed(&j, "0\t0\t0\t0");
}

Test(jail, root_without_user_is_refused_unless_allowed)
{
	struct fs_conf c;
	struct fs_jail j;
	char err[512], note[256];

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(fs_conf_init(&c), 0);
	cr_assert_eq(fs_jail_resolve(&c, false, &j, err, sizeof(err), note,
	                             sizeof(note)),
	             -EPERM);
	cr_assert(strstr(err, "started as root without `user`"), "%s", err);
	cr_assert_eq(
	    fs_jail_resolve(&c, true, &j, err, sizeof(err), note, sizeof(note)),
	    0);
	cr_assert_not(j.switch_user);
	c.user = strdup("root");
	cr_assert_eq(fs_jail_resolve(&c, false, &j, err, sizeof(err), note,
	                             sizeof(note)),
	             -EPERM);
	cr_assert(strstr(err, "user root is root"), "%s", err);
	free(c.user);
	c.user = strdup("nobody");
	cr_assert_eq(fs_jail_resolve(&c, false, &j, err, sizeof(err), note,
	                             sizeof(note)),
	             0, "%s", err);
	cr_assert(j.switch_user);
	cr_assert_eq(j.uid, NOBODY);
	fs_conf_free(&c);
}

Test(jail, master_gives_program_dir_and_log_files_to_the_workers_user)
{
	char dir[] = "/tmp/kvm-fpm-grant-XXXXXX", pd[64], log[64], fifo[64];
	struct fs_jail j = {.switch_user = true, .uid = NOBODY, .gid = NOBODY};
	struct fs_conf c;
	struct stat st;
	char err[256];
	int fd;

	if (geteuid() != 0)
		cr_skip_test("needs root to give files away");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(pd, sizeof(pd), "%s/programs", dir);
	snprintf(log, sizeof(log), "%s/kvm-fpm.log", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	fd = open(log, O_WRONLY | O_CREAT, 0640);
	cr_assert_geq(fd, 0);
	close(fd);
	memset(&c, 0, sizeof(c));
	c.program_dir = pd;
	c.log = log;
	/* like `access_log = /dev/null`: not a file to give away */
	c.access_log = fifo;
	cr_assert_eq(fs_jail_grant(&j, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(pd, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700);
	cr_assert_eq(st.st_uid, NOBODY);
	cr_assert_eq(st.st_gid, NOBODY);
	cr_assert_eq(stat(log, &st), 0);
	cr_assert_eq(st.st_uid, NOBODY);
	cr_assert_eq(stat(fifo, &st), 0);
	cr_assert_eq(st.st_uid, 0);
	/* Root workers (-R) next time: without CAP_DAC_OVERRIDE they need
	 * the directory back. */
	j = (struct fs_jail){.switch_user = false, .uid = 0, .gid = 0};
	cr_assert_eq(fs_jail_grant(&j, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(pd, &st), 0);
	cr_assert_eq(st.st_uid, 0);
	cr_assert_eq(st.st_gid, 0);
	unlink(log);
	unlink(fifo);
	rmdir(pd);
	rmdir(dir);
}

/* ---- seccomp ---------------------------------------------------------- */

static char log_path[] = "/tmp/kvm-fpm-jail-log-XXXXXX";

static void filtered(void *arg)
{
	void (*call)(void) = (void (*)(void))arg;
	char err[256];

	fs_log_open(log_path, LOG_NOTICE);
	if (fs_seccomp_install(err, sizeof(err))) {
		fs_log(LOG_ERR, NULL, "%s", err);
		_exit(3);
	}
	call();
}

static void call_execve(void)
{
	char *argv[] = {"true", NULL};

	execve("/bin/true", argv, NULL);
	_exit(4); /* refused without dying: wrong too */
}

static void call_connect(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	connect(fd, (struct sockaddr *)&a, sizeof(a));
}

static void call_socket_inet6(void)
{
	socket(AF_INET6, SOCK_STREAM, 0);
}

/* a unix socket could connect to local daemons: no worker needs one */
static void call_socket_unix(void)
{
	socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static void call_socket_udp(void)
{
	socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* TCP Fast Open: sendto with an address connects */
static void call_sendto_address(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons(9)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a));
}

static void call_ioctl_not_kvm(void)
{
	int n;

	ioctl(0, FIONREAD, &n);
}

static pid_t parent; /* known before the filter goes on */

static void call_kill_parent(void)
{
	kill(parent, 0);
}

/* O_ASYNC signals a socket's owner: another process is refused */
static void call_setown_parent(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	fcntl(fd, F_SETOWN, parent);
}

static void call_setown_ex(void)
{
	struct f_owner_ex o = {F_OWNER_PID, parent};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	fcntl(fd, F_SETOWN_EX, &o);
}

/* fn, run under the filter, dies of SIGSYS and the log names it. */
static void expect_refused(void (*fn)(void), const char *line)
{
	char text[1024] = "";
	int fd, st;
	ssize_t n;

	fd = mkstemp(log_path);
	cr_assert_geq(fd, 0);
	st = in_child(filtered, (void *)fn);
	n = read(fd, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(log_path);
	strcpy(log_path + strlen(log_path) - 6, "XXXXXX");
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	          "status %#x, log: %s", st, text);
	cr_assert(strstr(text, line), "log: %s", text);
	cr_assert(strstr(text, " [crit] [pid "), "log: %s", text);
}

Test(seccomp, execve_kills_the_worker_and_is_logged_by_name)
{
	expect_refused(call_execve,
	               "seccomp: forbidden system call execve (59): the "
	               "worker dies of SIGSYS\n");
}

Test(seccomp, connect_and_other_address_families_are_refused)
{
	expect_refused(call_connect, "forbidden system call connect (42)");
	expect_refused(call_socket_inet6, "forbidden system call socket (41)");
	expect_refused(call_socket_udp, "forbidden system call socket (41)");
	expect_refused(call_socket_unix, "forbidden system call socket (41)");
	expect_refused(call_sendto_address,
	               "forbidden system call sendto (44)");
}

Test(seccomp, only_kvm_ioctls_and_only_signals_to_itself)
{
	parent = getpid();
	expect_refused(call_ioctl_not_kvm, "forbidden system call ioctl (16)");
	expect_refused(call_kill_parent, "forbidden system call kill (62)");
	expect_refused(call_setown_parent, "forbidden system call fcntl (72)");
	expect_refused(call_setown_ex, "forbidden system call fcntl (72)");
}

/* What a worker does outside KVM_RUN: each step exits with its number
 * when it fails, so a broken allow-list names the step. */
static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void qsort_big(void)
{
	static int v[1 << 16];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		v[i] = (int)((i * 7919) % 65521);
	qsort(v, sizeof(v) / sizeof(v[0]), sizeof(v[0]), cmp_int);
	if (v[0] > v[1])
		_exit(18);
}

static char work_dir[] = "/tmp/kvm-fpm-jail-dir-XXXXXX";

static void worker_calls(void)
{
	const char *dir = work_dir;
	int fd, dfd, api;
	void *p;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) || mkdir(dir, 0700) == 0)
		_exit(11);
	fd = openat(dfd, ".x.tmp", O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) || close(fd) ||
	    renameat(dfd, ".x.tmp", dfd, "x.elf") || fsync(dfd) ||
	    unlinkat(dfd, "x.elf", 0))
		_exit(12);
	fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, 1 << 16) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) != 0)
		_exit(13);
	p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED || madvise(p, 4096, MADV_DONTNEED) ||
	    munmap(p, 1 << 16))
		_exit(14);
	/* KVM's ioctls are allowed whatever the fd: this one is no KVM fd */
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != -1 || errno != ENOTTY)
		_exit(15);
	if (ioctl(fd, TCGETS, &api) != -1 || errno != ENOTTY)
		_exit(16);
	if (socket(AF_INET, SOCK_STREAM, 0) < 0)
		_exit(17);
	/* send() (sendto without an address) is allowed: not connected */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (send(fd, "x", 1, MSG_NOSIGNAL) != -1 || errno == 0)
		_exit(19);
	/* GDB's ^C: the socket signals this worker */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fcntl(fd, F_SETOWN, getpid()) || fcntl(fd, F_SETSIG, SIGRTMIN) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK))
		_exit(20);
	/* qsort of more than 1 KiB (the ELF symbol table) asks sysinfo */
	qsort_big();
	fs_log(LOG_NOTICE, NULL, "still alive");
	_exit(0);
}

Test(seccomp, what_a_worker_needs_stays_allowed)
{
	char text[1024] = "";
	int fd, st;
	ssize_t n;

	cr_assert_not_null(mkdtemp(work_dir));
	fd = mkstemp(log_path);
	cr_assert_geq(fd, 0);
	st = in_child(filtered, (void *)worker_calls);
	rmdir(work_dir);
	n = read(fd, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(log_path);
	strcpy(log_path + strlen(log_path) - 6, "XXXXXX");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x, log: %s",
	          st, text);
	cr_assert(strstr(text, "still alive"), "log: %s", text);
}
