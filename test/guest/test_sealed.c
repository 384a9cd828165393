/* Guest tests: a booted snapshot is sealed, so that no process (a
 * compromised worker included) can change what other workers' VMs map. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"
#include "kc_vm.h"
#include "program.h"

#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

Test(sealed, snapshot_refuses_every_write_after_boot)
{
	struct guest g;
	off_t size;
	void *p;
	int fd;

	guest_boot(&g, "tenant-sdk/examples/hello", NULL);
	cr_assert_eq(g.boot, 0, "%s", g.err);
	fd = g.img->memfd;
	size = (off_t)g.img->lay.mem_size;
	cr_assert_eq(fcntl(fd, F_GET_SEALS), ALL_SEALS);
	cr_assert_eq(pwrite(fd, "x", 1, 0), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(fd, size + 4096), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(fd, 4096), -1);
	cr_assert_eq(errno, EPERM);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_eq(p, MAP_FAILED);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
	cr_assert_eq(errno, EPERM);
	/* Requests write their private copy as before. */
	cr_assert_eq(guest_get(&g, "/a"), KC_OK);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/b"), KC_OK);
	cr_assert_eq(g.res.http_status, 200);
	guest_free(&g);
}

static void no_output(void *ctx, int fd, const char *line, size_t len)
{
	(void)ctx, (void)fd, (void)line, (void)len;
}

Test(sealed, an_image_booted_without_a_vm_is_sealed_too)
{
	struct kc_limits lim;
	struct fs_program prog;
	struct kc_image *img = NULL;
	char err[256];
	int r;

	guest_require_kvm();
	kc_limits_default(&lim);
	r = fs_program_boot("tenant-sdk/examples/hello", &lim, no_output, NULL,
	                    &prog, &img, NULL, err, sizeof(err));
	cr_assert_eq(r, 0, "%s", err);
	fs_program_free(&prog);
	cr_assert_eq(fcntl(img->memfd, F_GET_SEALS), ALL_SEALS);
	cr_assert_eq(pwrite(img->memfd, "x", 1, 0), -1);
	cr_assert_eq(errno, EPERM);
	kc_image_put(img);
}
