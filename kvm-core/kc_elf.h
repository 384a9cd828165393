/* ELF checks and load plans (elf.c): a validated program as a plan of
 * what to load, and its symbols for fault reports.  Pure: no KVM. */
#ifndef KC_ELF_H
#define KC_ELF_H

#include <stddef.h>
#include <stdint.h>

struct kc_limits;

#define KC_MAX_SEGMENTS 16

struct kc_segment {
	uint64_t vaddr, memsz, filesz, offset;
	uint32_t flags; /* PF_R | PF_W | PF_X */
};

struct kc_symbol {
	uint64_t addr, size;
	uint32_t name; /* offset in kc_symtab.names */
};

struct kc_symtab {
	struct kc_symbol *syms; /* sorted by addr */
	size_t count;
	char *names;
};

struct kc_elf_plan {
	struct kc_segment seg[KC_MAX_SEGMENTS];
	unsigned nseg;
	uint64_t entry;
	uint64_t lo, hi;     /* page-aligned extent of all segments */
	uint64_t phdr_vaddr; /* program headers in memory, or 0 */
	uint64_t phoff;      /* program headers in the file */
	uint16_t phnum, phentsize;
	uint32_t abi_version; /* from the kvm-fpm note */
};

/* Validate the ELF against the limits and plan its load.  0, or -ENOEXEC
 * with the problem named in err. */
int kc_elf_check(const void *elf, size_t len, const struct kc_limits *lim,
                 struct kc_elf_plan *plan, char *err, size_t errlen);

/* Read the function symbols, if any, for fault reports.  0 or -ENOMEM. */
int kc_elf_symbols(const void *elf, size_t len, struct kc_symtab *tab);
void kc_symtab_free(struct kc_symtab *tab);

/* "name+0x12" for addr, or "" when no symbol covers it. */
void kc_symtab_describe(const struct kc_symtab *tab, uint64_t addr, char *buf,
                        size_t len);

#endif
