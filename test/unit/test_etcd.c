/* Tests of the etcd client and the program store against a real etcd
 * (Debian's etcd-server) on free loopback ports: no KVM needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "etcd.h"
#include "scoreboard.h"
#include "store.h"

#define ETCD_BIN "/usr/bin/etcd"

static char data_dir[] = "/tmp/kvm-fpm-etcd.XXXXXX";
static pid_t etcd_pid;
static int client_port, peer_port;
static char endpoint[64], err[512];

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start a member; with a missing peer in its cluster it has no quorum. */
static void etcd_start(int lonely)
{
	char curl_[64], peer[64], cluster[160];
	int n;

	snprintf(curl_, sizeof(curl_), "http://127.0.0.1:%d", client_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", peer_port);
	n = snprintf(cluster, sizeof(cluster), "n1=%s", peer);
	if (lonely)
		snprintf(cluster + n, sizeof(cluster) - (size_t)n,
		         ",n2=http://127.0.0.1:%d", free_port());
	etcd_pid = fork();
	cr_assert_geq(etcd_pid, 0);
	if (etcd_pid == 0) {
		freopen("/dev/null", "w", stderr);
		freopen("/dev/null", "w", stdout);
		execl(ETCD_BIN, "etcd", "--name", "n1", "--data-dir", data_dir,
		      "--listen-client-urls", curl_, "--advertise-client-urls",
		      curl_, "--listen-peer-urls", peer,
		      "--initial-advertise-peer-urls", peer,
		      "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
}

static void etcd_stop(void)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
	}
	etcd_pid = 0;
}

/* Wait until etcd answers a read (it has a leader), at most 20 s. */
static void etcd_wait(struct fs_etcd *e)
{
	struct fs_etcd_kv kv;
	double until = now() + 20;
	int r;

	do {
		r = fs_etcd_get(e, "/ready", &kv, NULL, err, sizeof(err));
		if (r == -ENOENT || r == 0)
			break;
		usleep(100000);
	} while (now() < until);
	cr_assert(r == -ENOENT || r == 0, "etcd did not start: %s", err);
	if (r == 0)
		fs_etcd_kv_free(&kv);
}

static struct fs_etcd e;

static void setup(void)
{
	if (access(ETCD_BIN, X_OK))
		cr_skip_test("no %s (Debian's etcd-server)", ETCD_BIN);
	cr_assert_not_null(mkdtemp(data_dir));
	client_port = free_port();
	peer_port = free_port();
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d",
	         client_port);
	etcd_start(0);
	cr_assert_eq(fs_etcd_open(&e, endpoint, err, sizeof(err)), 0, "%s",
	             err);
	etcd_wait(&e);
}

static void teardown(void)
{
	char cmd[128];

	fs_etcd_close(&e);
	etcd_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
	if (system(cmd)) {
		/* a leftover in /tmp is no test failure */
	}
}

TestSuite(etcd, .init = setup, .fini = teardown, .timeout = 60);

Test(etcd, put_then_get_returns_the_same_bytes)
{
	static const char bin[] = "\x7f"
	                          "ELF\0\x01\xff\n\"\\x";
	struct fs_etcd_kv kv;
	int64_t rev = 0;

	cr_assert_eq(
	    fs_etcd_put(&e, "/t/a", bin, sizeof(bin), err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(fs_etcd_get(&e, "/t/a", &kv, &rev, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_eq(kv.len, sizeof(bin));
	cr_assert_eq(memcmp(kv.val, bin, sizeof(bin)), 0);
	cr_assert_gt(kv.mod_revision, 1);
	cr_assert_geq(rev, kv.mod_revision);
	fs_etcd_kv_free(&kv);
	cr_assert_eq(fs_etcd_get(&e, "/t/b", &kv, NULL, err, sizeof(err)),
	             -ENOENT);
}

/* Sockets of this process connected to etcd's client port. */
static int etcd_conns(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0 &&
		    getpeername(fd, (struct sockaddr *)&a, &len) == 0 &&
		    a.sin_family == AF_INET && ntohs(a.sin_port) == client_port)
			n++;
	}
	return n;
}

/* A worker forked after the master's first commit holds none of its
 * connections to etcd; the master's own go on. */
Test(etcd, a_child_closes_the_connections_it_inherited)
{
	pid_t pid;
	int st;

	cr_assert_eq(fs_etcd_put(&e, "/t/c", "1", 1, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_geq(etcd_conns(), 1, "libcurl kept its connection");
	pid = fork();
	if (pid == 0) {
		fs_etcd_forget(&e);
		_exit(etcd_conns());
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "the child kept %d connections to etcd", WEXITSTATUS(st));
	cr_assert_geq(etcd_conns(), 1);
	cr_assert_eq(fs_etcd_put(&e, "/t/c", "2", 1, err, sizeof(err)), 0, "%s",
	             err);
}

Test(etcd, a_prefix_reads_its_keys_and_no_others)
{
	struct fs_etcd_kv kv[4];
	size_t n = 0, i;

	fs_etcd_put(&e, "/p/a.test/program", "P", 1, err, sizeof(err));
	fs_etcd_put(&e, "/p/a.test/version", "1", 1, err, sizeof(err));
	fs_etcd_put(&e, "/p/a.test0", "other", 5, err, sizeof(err));
	fs_etcd_put(&e, "/p/a.test.x/version", "9", 1, err, sizeof(err));
	cr_assert_eq(fs_etcd_get_prefix(&e, "/p/a.test/", kv, 4, &n, NULL, err,
	                                sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(kv[0].key, "/p/a.test/program");
	cr_assert_str_eq(kv[1].key, "/p/a.test/version");
	for (i = 0; i < n; i++)
		fs_etcd_kv_free(&kv[i]);
}

Test(etcd, a_stale_transaction_writes_nothing)
{
	struct fs_etcd_kv put = {"/x/k", "new", 3, 0}, kv;

	fs_etcd_put(&e, "/x/k", "old", 3, err, sizeof(err));
	cr_assert_eq(fs_etcd_get(&e, "/x/k", &kv, NULL, err, sizeof(err)), 0);
	/* Someone else writes between our read and our transaction. */
	fs_etcd_put(&e, "/x/k", "theirs", 6, err, sizeof(err));
	cr_assert_eq(fs_etcd_txn_put(&e, "/x/k", kv.mod_revision, &put, 1, NULL,
	                             err, sizeof(err)),
	             -ECANCELED, "%s", err);
	fs_etcd_kv_free(&kv);
	cr_assert_eq(fs_etcd_get(&e, "/x/k", &kv, NULL, err, sizeof(err)), 0);
	cr_assert_str_eq(kv.val, "theirs");
	fs_etcd_kv_free(&kv);
}

Test(etcd, commits_bump_the_version_and_keep_program_and_version_together)
{
	struct fs_etcd_kv prog;
	uint64_t v1 = 0, v2 = 0, got = 0;

	cr_assert_eq(fs_store_commit(&e, "/kf", "a.test", "one", 3, &v1, err,
	                             sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(fs_store_commit(&e, "/kf", "a.test", "two!", 4, &v2, err,
	                             sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(v1, 1);
	cr_assert_eq(v2, 2);
	cr_assert_eq(
	    fs_store_fetch(&e, "/kf", "a.test", &prog, &got, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(got, 2);
	cr_assert_eq(prog.len, 4);
	cr_assert_str_eq(prog.val, "two!");
	fs_etcd_kv_free(&prog);
	cr_assert_eq(
	    fs_store_fetch(&e, "/kf", "b.test", &prog, &got, err, sizeof(err)),
	    -ENOENT);
}

Test(etcd, a_program_over_the_request_limit_is_refused_with_its_reason)
{
	size_t len = FS_ETCD_MAX_VALUE + 1;
	char *big = calloc(1, len);
	uint64_t v = 0;

	cr_assert_eq(fs_store_commit(&e, "/kf", "a.test", big, len, &v, err,
	                             sizeof(err)),
	             -EFBIG);
	cr_assert(strstr(err, "request limit") && strstr(err, "not split"),
	          "%s", err);
	/* The largest allowed one does go in: the limit is not too tight. */
	cr_assert_eq(fs_store_commit(&e, "/kf", "a.test", big, len - 1, &v, err,
	                             sizeof(err)),
	             0, "%s", err);
	free(big);
}

Test(etcd, a_down_endpoint_is_skipped_and_all_down_is_an_error)
{
	char eps[160];
	struct fs_etcd two;
	uint64_t v = 0;
	double t0;

	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d, %s", free_port(),
	         endpoint);
	cr_assert_eq(fs_etcd_open(&two, eps, err, sizeof(err)), 0);
	cr_assert_eq(fs_store_commit(&two, "/kf", "a.test", "x", 1, &v, err,
	                             sizeof(err)),
	             0, "%s", err);
	fs_etcd_close(&two);
	etcd_stop();
	t0 = now();
	cr_assert_eq(
	    fs_store_commit(&e, "/kf", "a.test", "y", 1, &v, err, sizeof(err)),
	    -EHOSTUNREACH);
	cr_assert(strstr(err, "127.0.0.1"), "%s", err);
	cr_assert_lt(now() - t0, 5.0);
}

Test(etcd, without_quorum_a_commit_fails_and_writes_nothing)
{
	struct fs_etcd_kv prog;
	char cmd[160];
	uint64_t v = 0;

	cr_assert_eq(fs_store_commit(&e, "/kf", "a.test", "one", 3, &v, err,
	                             sizeof(err)),
	             0, "%s", err);
	/* The same member, now told it is one of two: no leader. */
	etcd_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s/member", data_dir);
	cr_assert_eq(system(cmd), 0);
	etcd_start(1);
	cr_assert_eq(fs_store_commit(&e, "/kf", "a.test", "two", 3, &v, err,
	                             sizeof(err)),
	             -EHOSTUNREACH, "%s", err);
	cr_assert_eq(
	    fs_store_fetch(&e, "/kf", "a.test", &prog, &v, err, sizeof(err)),
	    -EHOSTUNREACH);
}

/* A writer's commits: how many succeeded, in *ok; versions must rise. */
static void commit_many(const char *tenant, int n, int fd)
{
	struct fs_etcd w;
	uint64_t v = 0, last = 0;
	int i, ok = 0;

	cr_assert_eq(fs_etcd_open(&w, endpoint, err, sizeof(err)), 0);
	for (i = 0; i < n; i++) {
		int r = fs_store_commit(&w, "/kf", tenant, "p", 1, &v, err,
		                        sizeof(err));

		if (r == 0 && v > last) {
			ok++;
			last = v;
		} else if (r == 0) {
			ok = -1000; /* a version went backwards */
		}
	}
	cr_assert_eq(write(fd, &ok, sizeof(ok)), sizeof(ok));
	fs_etcd_close(&w);
}

Test(etcd, racing_uploads_lose_none_and_share_one_order)
{
	struct fs_etcd_kv prog;
	int fds[2], ok[2], i;
	uint64_t v = 0;
	pid_t pid[2];

	cr_assert_eq(pipe(fds), 0);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			commit_many("race.test", 15, fds[1]);
			_exit(0);
		}
	}
	for (i = 0; i < 2; i++) {
		waitpid(pid[i], NULL, 0);
		cr_assert_eq(read(fds[0], &ok[i], sizeof(ok[i])),
		             sizeof(ok[i]));
		cr_assert_gt(ok[i], 0);
	}
	/* Without the compare-and-swap two commits would read the same
	 * version and write the same next one: fewer versions than
	 * commits. */
	cr_assert_eq(
	    fs_store_fetch(&e, "/kf", "race.test", &prog, &v, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(v, (uint64_t)(ok[0] + ok[1]));
	fs_etcd_kv_free(&prog);
}

static int watch_stop_at_version(void *ctx, const char *key, size_t keylen,
                                 int64_t rev)
{
	static const char want[] = "/kf/tenants/a.test/version";

	(void)ctx;
	cr_assert_gt(rev, 0);
	return keylen == strlen(want) && !memcmp(key, want, keylen) ? 42 : 0;
}

Test(etcd, data_survives_a_restart_and_a_watch_sees_later_changes)
{
	struct fs_etcd_kv prog;
	uint64_t v = 0;
	int64_t rev = 0;
	pid_t writer;
	int r;

	fs_store_commit(&e, "/kf", "a.test", "one", 3, &v, err, sizeof(err));
	etcd_stop();
	etcd_start(0);
	etcd_wait(&e);
	cr_assert_eq(
	    fs_store_fetch(&e, "/kf", "a.test", &prog, &v, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(v, 1);
	fs_etcd_kv_free(&prog);
	cr_assert_eq(fs_etcd_get(&e, "/kf/tenants/a.test/version", &prog, &rev,
	                         err, sizeof(err)),
	             0);
	fs_etcd_kv_free(&prog);
	writer = fork();
	if (writer == 0) {
		struct fs_etcd w;

		usleep(300000);
		fs_etcd_open(&w, endpoint, err, sizeof(err));
		fs_store_commit(&w, "/kf", "a.test", "two", 3, &v, err,
		                sizeof(err));
		_exit(0);
	}
	r = fs_etcd_watch(&e, "/kf/tenants/", rev + 1, watch_stop_at_version,
	                  NULL, err, sizeof(err));
	waitpid(writer, NULL, 0);
	cr_assert_eq(r, 42, "%d: %s", r, err);
}

Test(base64, known_vectors_both_ways)
{
	static const char *const plain[] = {"",     "f",     "fo",    "foo",
	                                    "foob", "fooba", "foobar"};
	static const char *const coded[] = {
	    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char buf[16];
	size_t i;

	for (i = 0; i < 7; i++) {
		fs_base64_encode(plain[i], strlen(plain[i]), buf);
		cr_assert_str_eq(buf, coded[i]);
		cr_assert_eq(fs_base64_decode(coded[i], strlen(coded[i]), buf),
		             (long)strlen(plain[i]));
		cr_assert_eq(memcmp(buf, plain[i], strlen(plain[i])), 0);
	}
	cr_assert_eq(fs_base64_decode("Zg=", 3, buf), -EINVAL);
	cr_assert_eq(fs_base64_decode("Z===", 4, buf), -EINVAL);
	cr_assert_eq(fs_base64_decode("Zg=a", 4, buf), -EINVAL);
	cr_assert_eq(fs_base64_decode("Zm9v!A==", 8, buf), -EINVAL);
}

Test(etcd_cache, versions_only_go_forward_in_program_dir)
{
	char dir[] = "/tmp/kvm-fpm-cache.XXXXXX", path[300];
	struct fs_scoreboard *sb = fs_sb_create(1, 2);
	struct fs_tenant_conf tc = {.name = "a.test"};
	struct fs_tenant t = {.conf = &tc, .program_dir = dir};
	uint64_t sbv = 0;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	t.sb = fs_sb_tenant_slot(sb, "a.test");
	cr_assert_eq(fs_store_cached_version(dir, "a.test"), 0);
	cr_assert_eq(
	    fs_store_apply(&t, sb, 2, "two", 3, &sbv, err, sizeof(err)), 1,
	    "%s", err);
	cr_assert_eq(sbv, 1);
	cr_assert_eq(fs_store_cached_version(dir, "a.test"), 2);
	/* An older or the same version (a late watch event, the uploading
	 * worker after the watcher) changes nothing. */
	cr_assert_eq(
	    fs_store_apply(&t, sb, 1, "one", 3, &sbv, err, sizeof(err)), 0);
	cr_assert_eq(
	    fs_store_apply(&t, sb, 2, "two", 3, &sbv, err, sizeof(err)), 0);
	cr_assert_eq(fs_sb_program(sb, t.sb), 1);
	snprintf(path, sizeof(path), "%s/a.test.elf", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fread(path, 1, sizeof(path), f), 3);
	cr_assert_eq(memcmp(path, "two", 3), 0);
	fclose(f);
	cr_assert_eq(
	    fs_store_apply(&t, sb, 3, "three", 5, &sbv, err, sizeof(err)), 1);
	cr_assert_eq(fs_sb_program(sb, t.sb), 2);
	fs_sb_destroy(sb);
}
