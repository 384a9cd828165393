/* Guest output on the host side, without /dev/kvm: write() and writev()
 * through kc_sys_handle on a VM made of plain memory, checking what
 * reaches the output callback under max_log_size and the run's timer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "fake_vm.h"
#include "kc_kvm.h"
#include "kc_pagetable.h"
#include "kc_result.h"
#include "kc_sys.h"
#include "kc_timer.h"
#include "kc_vm.h"

#define BUF     0x400000ULL /* 1 MiB of newlines, then iovecs */
#define IOV     (BUF + (1 << 20))
#define TEXT    (IOV + 0x1000)
#define BAD     0x7f0000000000ULL /* never mapped */
#define MIB     (1u << 20)
#define CAP     (64u << 10)
#define MAX_OUT 4096

static struct kc_image img;
static struct kc_vm vm;
static struct kvm_run run;
static struct {
	unsigned lines[3]; /* by fd: 0 is kvm-core's note */
	uint64_t bytes;    /* line bytes and newlines, fds 1 and 2 */
	char note[256];
	char last[KC_OUTPUT_LINE_MAX + 1];
} out;

static void capture(void *ctx, int fd, const char *line, size_t len)
{
	(void)ctx;
	cr_assert(fd >= 0 && fd <= 2, "fd %d", fd);
	out.lines[fd]++;
	if (fd == 0) {
		snprintf(out.note, sizeof(out.note), "%.*s", (int)len, line);
		return;
	}
	out.bytes += len + 1;
	memcpy(out.last, line, len);
	out.last[len] = 0;
}

static void make_vm(void)
{
	uint64_t next;

	memset(&out, 0, sizeof(out));
	fake_vm_init(&vm, &img, 0x600000, &next);
	cr_assert_eq(img.lim.max_log_size, CAP, "the documented default");
	vm.run = &run;
	vm.out = capture;
	fake_vm_map(&vm, &next, BUF, 0x200000, KC_PTE_U | KC_PTE_W);
	memset(vm.mem + BUF, '\n', MIB);
}

static void free_vm(void)
{
	free(vm.mem);
}

TestSuite(output, .init = make_vm, .fini = free_vm);

/* The system call nr with three arguments, as the guest makes it. */
static int64_t call(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
	struct kvm_regs *r = &run.s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rax = nr;
	r->rdi = a;
	r->rsi = b;
	r->rdx = c;
	cr_assert_eq(kc_sys_handle(&vm), KC_RESUME);
	return (int64_t)r->rax;
}

static void put_text(const char *s)
{
	memcpy(vm.mem + TEXT, s, strlen(s));
}

Test(output, lines_pass_through_unchanged)
{
	put_text("hello\nworld\npartial");
	cr_assert_eq(call(SYS_write, 1, TEXT, 19), 19);
	cr_assert_eq(out.lines[1], 2);
	cr_assert_str_eq(out.last, "world");
	kc_vm_output_flush(&vm);
	cr_assert_eq(out.lines[1], 3);
	cr_assert_str_eq(out.last, "partial");
	cr_assert_eq(out.lines[0], 0, "no cut: %s", out.note);
}

Test(output, newline_flood_is_cut_once)
{
	cr_assert_eq(call(SYS_write, 1, BUF, MIB), MIB, "full count");
	/* Each empty line counts as a log line's prefix would. */
	cr_assert_eq(out.lines[1], CAP / KC_OUTPUT_LINE_COST);
	cr_assert_leq(out.bytes, CAP);
	cr_assert_eq(out.lines[0], 1);
	cr_assert_str_eq(out.note, "output cut at 65536 bytes (max_log_size): "
	                           "the rest of the request's output is "
	                           "dropped");
	/* Later writes succeed unread, like writes to /dev/null. */
	cr_assert_eq(call(SYS_write, 2, BUF, MIB), MIB);
	cr_assert_eq(call(SYS_write, 1, BAD, 100), 100);
	cr_assert_eq(out.lines[1] + out.lines[2], CAP / KC_OUTPUT_LINE_COST);
	cr_assert_eq(out.lines[0], 1, "one note");
}

Test(output, writev_flood_is_cut_once)
{
	struct iovec *iov = (struct iovec *)(vm.mem + IOV);
	int i;

	for (i = 0; i < 64; i++) {
		iov[i].iov_base = (void *)(uintptr_t)(BUF + i * (MIB / 64));
		iov[i].iov_len = MIB / 64;
	}
	cr_assert_eq(call(SYS_writev, 1, IOV, 64), MIB);
	cr_assert_eq(out.lines[1], CAP / KC_OUTPUT_LINE_COST);
	cr_assert_eq(out.lines[0], 1);
	iov[0].iov_base = (void *)(uintptr_t)BAD; /* past the cap: unread */
	cr_assert_eq(call(SYS_writev, 1, IOV, 64), MIB);
	cr_assert_eq(out.lines[0], 1);
}

Test(output, long_lines_count_every_byte)
{
	memset(vm.mem + BUF, 'a', MIB);
	cr_assert_eq(call(SYS_write, 1, BUF, MIB), MIB);
	kc_vm_output_flush(&vm);
	/* One line, cut at KC_OUTPUT_LINE_MAX; the cap was reached by the
	 * bytes written, which the host stopped reading at 64 KiB. */
	cr_assert_eq(out.lines[1], 1);
	cr_assert_eq(strlen(out.last), KC_OUTPUT_LINE_MAX);
	cr_assert_eq(out.lines[0], 1);
}

Test(output, budget_is_per_run)
{
	cr_assert_eq(call(SYS_write, 1, BUF, MIB), MIB);
	kc_vm_output_flush(&vm); /* the end of a run */
	put_text("next request\n");
	cr_assert_eq(call(SYS_write, 1, TEXT, 13), 13);
	cr_assert_str_eq(out.last, "next request");
	cr_assert_eq(out.lines[0], 1);
}

Test(output, main_has_the_same_cap)
{
	vm.booting = true;
	img.lim.max_log_size = 0;
	put_text("x\n");
	cr_assert_eq(call(SYS_write, 2, TEXT, 2), 2);
	cr_assert_eq(out.lines[2], 0);
	cr_assert(strstr(out.note, "the rest of main()'s output"), "%s",
	          out.note);
}

Test(output, bad_pointer_within_the_cap_is_efault)
{
	cr_assert_eq(call(SYS_write, 1, BAD, 10), -EFAULT);
	cr_assert_eq(call(SYS_write, 3, TEXT, 10), -EBADF);
	cr_assert_eq(out.lines[0] + out.lines[1], 0);
}

Test(output, nothing_more_once_the_timer_fired)
{
	struct timespec ms = {0, 1000000};
	int i;

	cr_assert_eq(kc_vm_timer_resume(&vm, 1), 0); /* fires at once */
	for (i = 0; i < 1000 && !kc_vm_timer_fired(); i++)
		nanosleep(&ms, NULL);
	cr_assert(kc_vm_timer_fired());
	cr_assert_eq(call(SYS_write, 1, BUF, MIB), MIB);
	cr_assert_eq(out.lines[1], 0, "logged %u lines on expired time",
	             out.lines[1]);
	cr_assert_eq(out.lines[0], 0, "a timeout, not a cut: %s", out.note);
}

Test(output, symbol_names_are_one_line)
{
	struct kc_symbol sym = {.addr = 0x401000, .size = 0x100};
	char names[] = "evil\n2026-01-01T00:00:00Z [notice] live update\x7f";
	struct kc_symtab tab = {&sym, 1, names};
	char buf[96];

	kc_symtab_describe(&tab, 0x401010, buf, sizeof(buf));
	cr_assert_str_eq(buf, "evil\\x0a2026-01-01T00:00:00Z [notice] "
	                      "live update\\x7f+0x10");
}
