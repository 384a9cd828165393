/* ELF checks and load planning for tenant programs, with libelf. */
#include <errno.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc.h"
#include "kc_elf.h"
#include "kc_layout.h"
#include "kvm-fpm-abi.h"

#define MAX_PHDRS 64

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len,
                                                      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -ENOEXEC;
}

static Elf *open_elf(const void *image, size_t len)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	/* Read-only use: libelf does not write to a memory image it only
	 * reads, whatever its prototype says. */
	return elf_memory((char *)image, len);
}

static int check_header(Elf *e, const GElf_Ehdr *eh, char *err, size_t n)
{
	if (gelf_getclass(e) != ELFCLASS64)
		return fail(err, n,
		            "32-bit ELF: an x86-64 (ELFCLASS64) "
		            "program is required");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, n, "big-endian ELF: x86-64 is required");
	if (eh->e_machine != EM_X86_64)
		return fail(err, n,
		            "ELF for machine %u, not x86-64 (%u): build it "
		            "with kvm-fpm-cc",
		            eh->e_machine, EM_X86_64);
	if (eh->e_type == ET_DYN)
		return fail(err, n,
		            "shared object or PIE (ET_DYN): link a "
		            "static, non-PIE program (kvm-fpm-cc does)");
	if (eh->e_type != ET_EXEC)
		return fail(err, n, "not an executable (ELF type %u)",
		            eh->e_type);
	return 0;
}

static int add_load(struct kc_elf_plan *p, const GElf_Phdr *ph, size_t i,
                    size_t len, const struct kc_limits *lim, char *err,
                    size_t n)
{
	struct kc_segment *s;
	uint64_t end = ph->p_vaddr + ph->p_memsz;

	if (ph->p_memsz == 0)
		return 0;
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, n,
		            "segment %zu: file size exceeds memory size", i);
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return fail(err, n,
		            "segment %zu: extends past the end of the file "
		            "(truncated ELF?)",
		            i);
	if (end < ph->p_vaddr || ph->p_vaddr < KC_USER_MIN)
		return fail(err, n,
		            "segment %zu at 0x%llx: below the lowest program "
		            "address 0x%x",
		            i, (unsigned long long)ph->p_vaddr, KC_USER_MIN);
	if (end > lim->max_memory)
		return fail(err, n,
		            "segment %zu ends at 0x%llx, beyond max_memory "
		            "(%lluM)",
		            i, (unsigned long long)end,
		            (unsigned long long)(lim->max_memory >> 20));
	if ((ph->p_flags & PF_W) && (ph->p_flags & PF_X))
		return fail(err, n, "segment %zu is writable and executable",
		            i);
	if (p->nseg == KC_MAX_SEGMENTS)
		return fail(err, n, "more than %d loadable segments",
		            KC_MAX_SEGMENTS);
	s = &p->seg[p->nseg++];
	s->vaddr = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->filesz = ph->p_filesz;
	s->offset = ph->p_offset;
	s->flags = ph->p_flags & (PF_R | PF_W | PF_X);
	return 0;
}

static int cmp_segment(const void *a, const void *b)
{
	const struct kc_segment *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Segments sorted; no overlap, and no page both writable and executable. */
static int check_segments(struct kc_elf_plan *p, char *err, size_t n)
{
	unsigned i;

	if (p->nseg == 0)
		return fail(err, n, "no loadable segments");
	qsort(p->seg, p->nseg, sizeof(p->seg[0]), cmp_segment);
	for (i = 0; i + 1 < p->nseg; i++) {
		const struct kc_segment *a = &p->seg[i], *b = &p->seg[i + 1];
		uint32_t both = a->flags | b->flags;

		if (a->vaddr + a->memsz > b->vaddr)
			return fail(err, n,
			            "segments at 0x%llx and 0x%llx overlap",
			            (unsigned long long)a->vaddr,
			            (unsigned long long)b->vaddr);
		if (KC_PAGE_UP(a->vaddr + a->memsz) >
		        (b->vaddr & KC_PAGE_MASK) &&
		    (both & PF_W) && (both & PF_X))
			return fail(
			    err, n,
			    "segments at 0x%llx and 0x%llx share a "
			    "page that would be writable and executable",
			    (unsigned long long)a->vaddr,
			    (unsigned long long)b->vaddr);
	}
	p->lo = p->seg[0].vaddr & KC_PAGE_MASK;
	p->hi =
	    KC_PAGE_UP(p->seg[p->nseg - 1].vaddr + p->seg[p->nseg - 1].memsz);
	for (i = 0; i < p->nseg; i++) {
		const struct kc_segment *s = &p->seg[i];

		if ((s->flags & PF_X) && p->entry >= s->vaddr &&
		    p->entry < s->vaddr + s->memsz)
			return 0;
	}
	return fail(err, n,
	            "entry point 0x%llx is not in an executable segment",
	            (unsigned long long)p->entry);
}

/* Find the kvm-fpm ABI note in a PT_NOTE segment. */
static int find_note(Elf *e, const GElf_Phdr *ph, uint32_t *version)
{
	Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph->p_offset,
	                                   ph->p_filesz, ELF_T_NHDR);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	if (d == NULL)
		return 0;
	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == KFPM_NOTE_TYPE &&
		    nh.n_namesz == sizeof(KFPM_NOTE_NAME) &&
		    memcmp((char *)d->d_buf + name_off, KFPM_NOTE_NAME,
		           sizeof(KFPM_NOTE_NAME)) == 0 &&
		    nh.n_descsz == 4) {
			memcpy(version, (char *)d->d_buf + desc_off, 4);
			return 1;
		}
	}
	return 0;
}

static int plan_phdrs(Elf *e, size_t len, const struct kc_limits *lim,
                      struct kc_elf_plan *p, char *err, size_t n)
{
	size_t phnum, i;
	int r, noted = 0;

	if (elf_getphdrnum(e, &phnum) != 0 || phnum == 0)
		return fail(err, n, "no program headers");
	if (phnum > MAX_PHDRS)
		return fail(err, n, "%zu program headers (at most %d)", phnum,
		            MAX_PHDRS);
	p->phnum = (uint16_t)phnum;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) == NULL)
			return fail(err, n,
			            "program header %zu is unreadable "
			            "(truncated ELF?)",
			            i);
		switch (ph.p_type) {
		case PT_INTERP:
			return fail(err, n,
			            "dynamically linked (PT_INTERP): "
			            "link statically with kvm-fpm-cc");
		case PT_LOAD:
			r = add_load(p, &ph, i, len, lim, err, n);
			if (r)
				return r;
			break;
		case PT_PHDR:
			p->phdr_vaddr = ph.p_vaddr;
			break;
		case PT_NOTE:
			noted |= find_note(e, &ph, &p->abi_version);
			break;
		default:
			break;
		}
	}
	if (!noted)
		return fail(err, n,
		            "no kvm-fpm ABI note: build the program "
		            "with kvm-fpm-cc");
	if (p->abi_version != KFPM_ABI_VERSION)
		return fail(err, n,
		            "built for kvm-fpm ABI %u; this server speaks %u",
		            p->abi_version, KFPM_ABI_VERSION);
	return 0;
}

int kc_elf_check(const void *image, size_t len, const struct kc_limits *lim,
                 struct kc_elf_plan *plan, char *err, size_t errlen)
{
	GElf_Ehdr eh;
	Elf *e;
	int r;

	memset(plan, 0, sizeof(*plan));
	if (len < 4 || memcmp(image, ELFMAG, SELFMAG) != 0)
		return fail(err, errlen, "not an ELF file");
	if (len < sizeof(Elf64_Ehdr))
		return fail(err, errlen, "truncated ELF header (%zu bytes)",
		            len);
	e = open_elf(image, len);
	if (e == NULL || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		r = fail(err, errlen, "unreadable ELF: %s", elf_errmsg(-1));
		goto out;
	}
	r = check_header(e, &eh, err, errlen);
	if (r)
		goto out;
	if (eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * eh.e_phentsize > len - eh.e_phoff) {
		r = fail(err, errlen,
		         "program headers extend past the end of "
		         "the file (truncated ELF?)");
		goto out;
	}
	plan->entry = eh.e_entry;
	plan->phoff = eh.e_phoff;
	plan->phentsize = eh.e_phentsize;
	r = plan_phdrs(e, len, lim, plan, err, errlen);
	if (r == 0)
		r = check_segments(plan, err, errlen);
out:
	if (e)
		elf_end(e);
	return r;
}

static int cmp_symbol(const void *a, const void *b)
{
	const struct kc_symbol *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Append the function symbols of one SHT_SYMTAB section. */
static int read_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh,
                       struct kc_symtab *t, size_t *names_len)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, count;

	if (d == NULL || sh->sh_entsize == 0)
		return 0;
	count = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		size_t nl;
		void *grown;

		if (!gelf_getsym(d, (int)i, &sym) ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (name == NULL || *name == 0)
			continue;
		nl = strlen(name) + 1;
		grown = realloc(t->syms, (t->count + 1) * sizeof(*t->syms));
		if (grown == NULL)
			return -ENOMEM;
		t->syms = grown;
		grown = realloc(t->names, *names_len + nl);
		if (grown == NULL)
			return -ENOMEM;
		t->names = grown;
		memcpy(t->names + *names_len, name, nl);
		t->syms[t->count].addr = sym.st_value;
		t->syms[t->count].size = sym.st_size;
		t->syms[t->count].name = (uint32_t)*names_len;
		t->count++;
		*names_len += nl;
	}
	return 0;
}

int kc_elf_symbols(const void *image, size_t len, struct kc_symtab *t)
{
	Elf *e = open_elf(image, len);
	Elf_Scn *scn = NULL;
	size_t names_len = 0;
	int r = 0;

	memset(t, 0, sizeof(*t));
	if (e == NULL)
		return 0;
	while (r == 0 && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			r = read_symtab(e, scn, &sh, t, &names_len);
	}
	elf_end(e);
	if (r) {
		kc_symtab_free(t);
		return r;
	}
	if (t->count)
		qsort(t->syms, t->count, sizeof(*t->syms), cmp_symbol);
	return 0;
}

void kc_symtab_free(struct kc_symtab *t)
{
	free(t->syms);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

/* The tenant chose its symbol names: a fault report is one line whatever
 * they hold, so control bytes and DEL become \xHH (bytes above 0x7f are
 * left for the log writer, which knows UTF-8). */
static const char *printable(const char *name, char *buf, size_t len)
{
	size_t n = 0;

	for (; *name && n + 5 <= len; name++) {
		unsigned char c = (unsigned char)*name;

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	return buf;
}

void kc_symtab_describe(const struct kc_symtab *t, uint64_t addr, char *buf,
                        size_t len)
{
	size_t lo = 0, hi = t->count;
	const struct kc_symbol *s;
	char name[256];

	buf[0] = 0;
	while (lo < hi) { /* last symbol with addr <= target */
		size_t mid = (lo + hi) / 2;

		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return;
	s = &t->syms[lo - 1];
	if (addr - s->addr < (s->size ? s->size : 1))
		snprintf(buf, len, "%s+0x%llx",
		         printable(t->names + s->name, name, sizeof(name)),
		         (unsigned long long)(addr - s->addr));
}
