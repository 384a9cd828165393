/* The GDB stub's target operations on a stopped VM: registers as the
 * interrupted user-mode program had them, memory through the checked
 * guest translation, and breakpoints as int3 bytes in the VM's private
 * copy of its code pages. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "gdb_vm.h"
#include "kc_gmem.h"
#include "kc_vm.h"

#define INT3 0xcc
/* Flags GDB may change: CF PF AF ZF SF TF DF OF AC.  IF stays on, IOPL
 * stays 0: a debugger does not hand the guest its I/O ports. */
#define RFLAGS_WRITABLE 0x40dd5ULL
#define RFLAGS_FIXED    0x202ULL

uint64_t *kc_gdb_iret_frame(struct kc_gdb *g)
{
	return (uint64_t *)(g->vm->mem + g->frame);
}

uint64_t *kc_gdb_user_rip(struct kc_gdb *g)
{
	if (g->ctx == KC_GDB_CTX_USER)
		return (uint64_t *)&g->vm->run->s.regs.regs.rip;
	if (g->ctx == KC_GDB_CTX_CALL)
		return (uint64_t *)&g->vm->run->s.regs.regs.rcx;
	return &kc_gdb_iret_frame(g)[KC_FRAME_RIP];
}

uint64_t *kc_gdb_user_rflags(struct kc_gdb *g)
{
	if (g->ctx == KC_GDB_CTX_USER)
		return (uint64_t *)&g->vm->run->s.regs.regs.rflags;
	if (g->ctx == KC_GDB_CTX_CALL)
		return (uint64_t *)&g->vm->run->s.regs.regs.r11;
	return &kc_gdb_iret_frame(g)[KC_FRAME_RFLAGS];
}

static uint64_t *user_rsp(struct kc_gdb *g)
{
	if (g->ctx != KC_GDB_CTX_EXC)
		return (uint64_t *)&g->vm->run->s.regs.regs.rsp;
	return &kc_gdb_iret_frame(g)[KC_FRAME_RSP];
}

/* The general registers in `g` order: pointers into the vCPU's synced
 * registers, the user rsp from the frame. */
static uint64_t *gpr(struct kc_gdb *g, unsigned n)
{
	struct kvm_regs *r = &g->vm->run->s.regs.regs;
	uint64_t *const map[16] = {
	    (uint64_t *)&r->rax, (uint64_t *)&r->rbx, (uint64_t *)&r->rcx,
	    (uint64_t *)&r->rdx, (uint64_t *)&r->rsi, (uint64_t *)&r->rdi,
	    (uint64_t *)&r->rbp, user_rsp(g),         (uint64_t *)&r->r8,
	    (uint64_t *)&r->r9,  (uint64_t *)&r->r10, (uint64_t *)&r->r11,
	    (uint64_t *)&r->r12, (uint64_t *)&r->r13, (uint64_t *)&r->r14,
	    (uint64_t *)&r->r15,
	};

	return map[n];
}

static void put(uint8_t *regs, unsigned n, uint64_t v)
{
	size_t i, off = kc_gdb_reg_offset(n), sz = kc_gdb_reg_size(n);

	for (i = 0; i < sz && i < 8; i++)
		regs[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *val, size_t sz)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < sz && i < 8; i++)
		v |= (uint64_t)val[i] << (8 * i);
	return v;
}

/* The x87 and SSE registers (GDB wants x87 in an amd64 core; compiled
 * code keeps doubles in xmm registers).  From KVM_GET_XSAVE: under PVM
 * KVM_GET_FPU returns all zeros (measured), the XSAVE image is right. */
static void read_fpu(struct kc_gdb *g, uint8_t *regs)
{
	struct kvm_xsave xs;
	const uint8_t *fx = (const uint8_t *)xs.region; /* FXSAVE layout */
	uint32_t tag = 0, mxcsr;
	uint16_t fcw, fsw, fop;
	uint64_t fip, fdp;
	unsigned i;

	if (ioctl(g->vm->vcpu_fd, KVM_GET_XSAVE, &xs))
		return;
	memcpy(&fcw, fx, 2);
	memcpy(&fsw, fx + 2, 2);
	memcpy(&fop, fx + 6, 2);
	memcpy(&fip, fx + 8, 8);
	memcpy(&fdp, fx + 16, 8);
	memcpy(&mxcsr, fx + 24, 4);
	for (i = 0; i < 8; i++) {
		memcpy(regs + kc_gdb_reg_offset(KC_GDB_ST0 + i),
		       fx + 32 + 16 * i, 10);
		/* FXSAVE's abridged tag: 1 valid, 0 empty (3 in full). */
		tag |= (fx[4] & (1u << i) ? 0u : 3u) << (2 * i);
	}
	for (i = 0; i < 16; i++)
		memcpy(regs + kc_gdb_reg_offset(KC_GDB_XMM0 + i),
		       fx + 160 + 16 * i, 16);
	put(regs, KC_GDB_FCTRL, fcw);
	put(regs, KC_GDB_FCTRL + 1, fsw);
	put(regs, KC_GDB_FCTRL + 2, tag);
	put(regs, KC_GDB_FCTRL + 4, fip);
	put(regs, KC_GDB_FCTRL + 6, fdp);
	put(regs, KC_GDB_FOP, fop);
	put(regs, KC_GDB_MXCSR, mxcsr);
}

static int read_regs(void *t, uint8_t *regs)
{
	struct kc_gdb *g = t;
	struct kvm_sregs s;
	uint64_t *f = kc_gdb_iret_frame(g);
	unsigned n;

	memset(regs, 0, KC_GDB_REGS_SIZE);
	for (n = 0; n < 16; n++)
		put(regs, n, *gpr(g, n));
	put(regs, KC_GDB_RIP, *kc_gdb_user_rip(g));
	put(regs, KC_GDB_EFLAGS, *kc_gdb_user_rflags(g));
	if (g->ctx == KC_GDB_CTX_EXC) {
		put(regs, KC_GDB_CS, f[KC_FRAME_CS]);
		put(regs, KC_GDB_CS + 1, f[KC_FRAME_SS]);
	} else if (g->ctx == KC_GDB_CTX_CALL) {
		/* The caller's, whichever ring the call came to. */
		put(regs, KC_GDB_CS, KC_SEL_UCODE);
		put(regs, KC_GDB_CS + 1, KC_SEL_UDATA);
	}
	if (ioctl(g->vm->vcpu_fd, KVM_GET_SREGS, &s) == 0) {
		if (g->ctx == KC_GDB_CTX_USER) {
			put(regs, KC_GDB_CS, s.cs.selector);
			put(regs, KC_GDB_CS + 1, s.ss.selector);
		}
		put(regs, KC_GDB_CS + 2, s.ds.selector);
		put(regs, KC_GDB_CS + 3, s.es.selector);
		put(regs, KC_GDB_CS + 4, s.fs.selector);
		put(regs, KC_GDB_GS, s.gs.selector);
		put(regs, KC_GDB_FS_BASE, s.fs.base);
		put(regs, KC_GDB_GS_BASE, s.gs.base);
	}
	read_fpu(g, regs);
	return 0;
}

/* General registers, rip and eflags; segments, x87 and SSE are
 * read-only. */
static int write_reg(void *t, unsigned n, const uint8_t *val)
{
	struct kc_gdb *g = t;
	uint64_t v = get(val, kc_gdb_reg_size(n)), *fl;

	if (n < 16) {
		*gpr(g, n) = v;
	} else if (n == KC_GDB_RIP) {
		*kc_gdb_user_rip(g) = v;
	} else if (n == KC_GDB_EFLAGS) {
		fl = kc_gdb_user_rflags(g);
		*fl = (*fl & ~RFLAGS_WRITABLE) | (v & RFLAGS_WRITABLE) |
		      RFLAGS_FIXED;
	} else {
		return -EPERM;
	}
	g->vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

/* GDB sees memory without our int3 bytes. */
static void hide_breakpoints(struct kc_gdb *g, uint64_t addr, uint8_t *buf,
                             size_t len)
{
	unsigned i;

	for (i = 0; i < KC_GDB_BP_MAX; i++)
		if (g->bp[i].used && g->bp[i].addr - addr < len)
			buf[g->bp[i].addr - addr] = g->bp[i].saved;
}

static int read_mem(void *t, uint64_t addr, uint8_t *buf, size_t len)
{
	struct kc_gdb *g = t;
	const uint8_t *p = kc_gmem(g->vm->mem, &g->vm->img->lay, addr, len, 0);

	if (p == NULL)
		return -EFAULT;
	memcpy(buf, p, len);
	hide_breakpoints(g, addr, buf, len);
	return 0;
}

/* A debugger's writes stay out of the stubs and system structures below
 * KC_USER_MIN (user-readable, ring-0 code) and the page tables: GDB may
 * change what the program could, and its code. */
static uint8_t *writable(struct kc_gdb *g, uint64_t addr, size_t len)
{
	const struct kc_layout *lay = &g->vm->img->lay;

	if (addr < KC_USER_MIN || addr + len < addr ||
	    addr + len > lay->pt_base)
		return NULL;
	return kc_gmem(g->vm->mem, lay, addr, len, KC_GMEM_DEBUG);
}

/* Writes land in the VM's private view and are marked dirty, so the
 * reset takes them back like the guest's own; a breakpoint's byte keeps
 * its int3 and remembers the new value. */
static int write_mem(void *t, uint64_t addr, const uint8_t *buf, size_t len)
{
	struct kc_gdb *g = t;
	uint8_t *p = writable(g, addr, len);
	unsigned i;

	if (p == NULL)
		return -EFAULT;
	memcpy(p, buf, len);
	for (i = 0; i < KC_GDB_BP_MAX; i++) {
		struct kc_gdb_bp *b = &g->bp[i];

		if (b->used && b->addr - addr < len) {
			b->saved = buf[b->addr - addr];
			p[b->addr - addr] = INT3;
		}
	}
	return 0;
}

struct kc_gdb_bp *kc_gdb_bp_find(struct kc_gdb *g, uint64_t addr)
{
	unsigned i;

	for (i = 0; i < KC_GDB_BP_MAX; i++)
		if (g->bp[i].used && g->bp[i].addr == addr)
			return &g->bp[i];
	return NULL;
}

int kc_gdb_bp_insert(struct kc_gdb *g, uint64_t addr, bool temp)
{
	struct kc_gdb_bp *b = kc_gdb_bp_find(g, addr);
	uint8_t *p;
	unsigned i;

	if (b) {
		b->temp = b->temp && temp; /* GDB's own outlives ours */
		return 0;
	}
	for (i = 0; i < KC_GDB_BP_MAX && g->bp[i].used; i++)
		;
	if (i == KC_GDB_BP_MAX)
		return -ENOSPC;
	p = writable(g, addr, 1);
	if (p == NULL)
		return -EFAULT;
	g->bp[i] = (struct kc_gdb_bp){addr, *p, true, temp};
	*p = INT3;
	return 0;
}

static void bp_remove(struct kc_gdb *g, struct kc_gdb_bp *b)
{
	uint8_t *p = writable(g, b->addr, 1);

	if (p) /* mapped when inserted; the reset restores it anyway */
		*p = b->saved;
	b->used = false;
}

void kc_gdb_bp_remove_all(struct kc_gdb *g, bool temp_only)
{
	unsigned i;

	for (i = 0; i < KC_GDB_BP_MAX; i++)
		if (g->bp[i].used && (g->bp[i].temp || !temp_only))
			bp_remove(g, &g->bp[i]);
}

/* Hardware breakpoints (Z1) are int3 bytes too: debug registers do not
 * work under PVM, neither the guest's (KVM_SET_DEBUGREGS) nor KVM's
 * (KVM_GUESTDBG_USE_HW_BP); see gdb_session.c.  The code pages are the
 * VM's private copy, so the result is the same. */
static int breakpoint(void *t, int type, uint64_t addr, bool insert)
{
	struct kc_gdb *g = t;
	struct kc_gdb_bp *b;

	(void)type;
	if (insert)
		return kc_gdb_bp_insert(g, addr, false);
	b = kc_gdb_bp_find(g, addr);
	if (b)
		bp_remove(g, b);
	return 0;
}

const struct kc_gdb_ops kc_gdb_vm_ops = {
    .read_regs = read_regs,
    .write_reg = write_reg,
    .read_mem = read_mem,
    .write_mem = write_mem,
    .breakpoint = breakpoint,
};
