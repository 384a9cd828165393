/* libFuzzer harness: tenant ELF images through the checks kvm-core runs
 * before loading (kc_elf_check) and the symbol table it keeps for fault
 * reports (kc_elf_symbols, kc_symtab_describe). */
#include <assert.h>
#include <errno.h>
#include <gelf.h>
#include <stdint.h>
#include <string.h>

#include "kc.h"
#include "kc_elf.h"
#include "kc_layout.h"

/* A plan kc_elf_check accepted is what the loader copies from: every
 * segment must lie in the file and inside max_memory, sorted, apart. */
static void check_plan(const struct kc_elf_plan *p, size_t len,
                       const struct kc_limits *lim)
{
	unsigned i;

	assert(p->nseg >= 1 && p->nseg <= KC_MAX_SEGMENTS);
	for (i = 0; i < p->nseg; i++) {
		const struct kc_segment *s = &p->seg[i];

		assert(s->filesz <= s->memsz);
		assert(s->offset <= len && s->filesz <= len - s->offset);
		assert(s->vaddr >= KC_USER_MIN);
		assert(s->vaddr + s->memsz >= s->vaddr);
		assert(s->vaddr + s->memsz <= lim->max_memory);
		assert(!((s->flags & PF_W) && (s->flags & PF_X)));
		if (i > 0)
			assert(p->seg[i - 1].vaddr + p->seg[i - 1].memsz <=
			       s->vaddr);
	}
	/* build_stack() copies the program headers from the file. */
	assert(p->phoff <= len &&
	       (uint64_t)p->phnum * p->phentsize <= len - p->phoff);
	assert(p->lo <= p->seg[0].vaddr && p->lo < p->hi);
	assert(p->hi <= KC_PAGE_UP(lim->max_memory));
}

/* Describing any address must give a NUL-terminated, bounded string. */
static void describe(const struct kc_symtab *t, uint64_t addr)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	kc_symtab_describe(t, addr, buf, sizeof(buf));
	assert(memchr(buf, 0, sizeof(buf)) != NULL);
}

static void check_symbols(const uint8_t *data, size_t size, uint64_t entry)
{
	struct kc_symtab t;
	size_t i;

	if (kc_elf_symbols(data, size, &t) != 0)
		return; /* -ENOMEM: nothing to free */
	for (i = 0; i < t.count; i++) {
		if (i > 0)
			assert(t.syms[i - 1].addr <= t.syms[i].addr);
		describe(&t, t.syms[i].addr);
		describe(&t, t.syms[i].addr + t.syms[i].size);
		describe(&t, t.syms[i].addr - 1);
	}
	describe(&t, 0);
	describe(&t, entry);
	describe(&t, UINT64_MAX);
	kc_symtab_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kc_elf_plan plan;
	struct kc_limits lim;
	char err[256] = "";
	int rc;

	kc_limits_default(&lim);
	rc = kc_elf_check(data, size, &lim, &plan, err, sizeof(err));
	if (rc == 0)
		check_plan(&plan, size, &lim);
	else
		assert(rc == -ENOEXEC && err[0] != '\0');
	/* The server reads symbols only from programs it accepted; a
	 * fault report must never crash on a strange symbol table, so
	 * read them from every input. */
	check_symbols(data, size, plan.entry);
	return 0;
}
