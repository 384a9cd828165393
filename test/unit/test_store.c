/* A worker's upload to the master over their socket pair (program_store =
 * etcd), without etcd: asks for tenants the master does not have are
 * answered without it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store.h"
#include "tenants.h"

#define MS 1000000ULL

static struct fs_tenants none;
static int sv[2];

static void *serve_one(void *arg)
{
	(void)arg;
	fs_store_serve(sv[1], NULL, "/kvm-fpm", &none, 2000 * MS);
	return NULL;
}

/* The master answered an ask after its worker gave up on it: that answer
 * must not be taken for the next ask's, which may be another tenant's
 * (its version stored under this one's name). */
Test(store, a_late_answer_is_not_taken_for_the_next_ask)
{
	char err[256];
	uint64_t version = 0;
	pthread_t t;
	int r;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r = fs_store_ask(sv[0], "a.test", "elf1", 4, 100 * MS, &version, err,
	                 sizeof(err));
	cr_assert_eq(r, -ETIMEDOUT, "%d: %s", r, err);
	cr_assert(strstr(err, "not known"), "%s", err);
	/* now the master answers it */
	cr_assert_eq(fs_store_serve(sv[1], NULL, "/kvm-fpm", &none, 1000 * MS),
	             0);
	cr_assert_eq(pthread_create(&t, NULL, serve_one, NULL), 0);
	r = fs_store_ask(sv[0], "b.test", "elf2", 4, 2000 * MS, &version, err,
	                 sizeof(err));
	pthread_join(t, NULL);
	cr_assert_eq(r, -ENOENT, "%d: %s", r, err);
	cr_assert(strstr(err, "b.test"), "the answer was another ask's: %s",
	          err);
	close(sv[0]);
	close(sv[1]);
}

/* A worker that sends its ask a little at a time cannot hold the master
 * (which serves no signal, reaps no child meanwhile) past the read's
 * time. */
Test(store, an_ask_not_sent_in_time_is_dropped, .timeout = 10)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(write(sv[0], "kfpu", 4), 4);
	cr_assert_eq(fs_store_serve(sv[1], NULL, "/kvm-fpm", &none, 200 * MS),
	             -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}
