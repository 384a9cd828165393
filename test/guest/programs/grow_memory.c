/* main() takes 12 MiB of heap (brk) and of the mmap area; then each
 * request grows the mmap area by 40 MiB and the heap by 16 MiB, past the
 * memory slots a VM starts with.  System calls, not malloc, which would
 * move the break itself.  Answers "clean 56 MiB\n" when main()'s memory is
 * intact, the program break starts where the snapshot left it, and the
 * pages sampled were fresh (zero) and kept what was written. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm-fpm.h"

#define MIB      (1ul << 20)
#define MMAP_LEN (40 * MIB)
#define BRK_LEN  (16 * MIB)
#define PAGE     4096
#define STRIDE   (16 * PAGE) /* one page in 16: a fault costs ~60 us */

#define BOOT_LEN (12 * MIB) /* main() takes this much of each, too */

static unsigned long snapshot_brk;
static unsigned char *boot_mmap, *boot_brk;

/* One page in every STRIDE bytes (and the last) zero on entry, then
 * written; NULL, or what went wrong. */
static const char *fill(unsigned char *p, unsigned long len, unsigned char v)
{
	unsigned long i;

	for (i = 0; i < len; i += STRIDE)
		if (p[i] != 0 || p[len - 1 - i] != 0)
			return i ? "not zero" : "first page not zero";
	for (i = 0; i < len; i += STRIDE)
		p[i] = p[len - 1 - i] = (unsigned char)(v + i / STRIDE);
	for (i = 0; i < len; i += STRIDE)
		if (p[i] != (unsigned char)(v + i / STRIDE) ||
		    p[len - 1 - i] != (unsigned char)(v + i / STRIDE))
			return "lost a write";
	return NULL;
}

void my_backend(const char *url)
{
	unsigned long base = (unsigned long)syscall(SYS_brk, 0), top;
	unsigned char *m = mmap(NULL, MMAP_LEN, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *bad = NULL, *where = "";
	char body[96];

	(void)url;
	if (base != snapshot_brk)
		bad = "brk not reset";
	else if (boot_mmap[0] != 3 || boot_mmap[BOOT_LEN - 1] != 4 ||
	         boot_brk[0] != 5 || boot_brk[BOOT_LEN - 1] != 6)
		bad = "main()'s memory lost";
	top = (unsigned long)syscall(SYS_brk, base + BRK_LEN);
	if (!bad && (m == MAP_FAILED || top != base + BRK_LEN))
		bad = "allocation failed";
	if (!bad && (bad = fill(m, MMAP_LEN, 1)))
		where = "mmap: ";
	if (!bad && (bad = fill((unsigned char *)base, BRK_LEN, 7)))
		where = "brk: ";
	if (bad)
		snprintf(body, sizeof(body), "%s%s\n", where, bad);
	else
		snprintf(body, sizeof(body), "clean %lu MiB\n",
		         (MMAP_LEN + BRK_LEN) / MIB);
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	boot_mmap = mmap(NULL, BOOT_LEN, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	boot_brk = (unsigned char *)syscall(SYS_brk, 0);
	if (boot_mmap == MAP_FAILED ||
	    (unsigned long)syscall(SYS_brk, boot_brk + BOOT_LEN) !=
	        (unsigned long)boot_brk + BOOT_LEN)
		return 1;
	boot_mmap[0] = 3;
	boot_mmap[BOOT_LEN - 1] = 4;
	boot_brk[0] = 5;
	boot_brk[BOOT_LEN - 1] = 6;
	snapshot_brk = (unsigned long)syscall(SYS_brk, 0);
	return 0;
}
