/* x86-64 system structures for a guest: GDT, IDT, TSS, ring-0 stubs and
 * the special registers that go with them.  Pure data, no ioctls. */
#include <string.h>

#include <linux/kvm.h>

#include "kc_layout.h"
#include "kc_x86.h"
#include "kvm-fpm-abi.h"

extern const uint8_t kc_stubs_begin[], kc_stubs_end[];

_Static_assert(KFPM_CALL_ENTRY == KC_STUBS_ADDR + KC_STUB_SYSCALL,
               "the ABI's call entry is the syscall stub");

#define GDT_ENTRIES 7   /* null, kcode, kdata, udata, ucode, tss (2) */
#define IDT_VECTORS 33  /* the exceptions, then KC_VEC_FLUSH */
#define TSS_IOPB    104 /* I/O bitmap offset in the TSS */
#define TSS_LIMIT   (TSS_IOPB + 256 / 8) /* ports 0-255, then 0xff */

#define CR0_PE         (1u << 0)
#define CR0_MP         (1u << 1)
#define CR0_ET         (1u << 4)
#define CR0_NE         (1u << 5)
#define CR0_WP         (1u << 16)
#define CR0_PG         (1u << 31)
#define CR4_PAE        (1u << 5)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define EFER_SCE       (1u << 0)
#define EFER_LME       (1u << 8)
#define EFER_LMA       (1u << 10)
#define EFER_NXE       (1u << 11)

static void build_gdt(uint64_t *gdt)
{
	uint64_t base = KC_TSS_ADDR;

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL; /* kernel code, 64-bit, DPL 0 */
	gdt[2] = 0x00cf93000000ffffULL; /* kernel data */
	gdt[3] = 0x00cff3000000ffffULL; /* user data, DPL 3 */
	gdt[4] = 0x00affb000000ffffULL; /* user code, 64-bit, DPL 3 */
	/* 64-bit TSS descriptor, busy, over two entries. */
	gdt[5] = TSS_LIMIT | ((base & 0xffffff) << 16) | (0x8bULL << 40) |
	         (((base >> 24) & 0xff) << 56);
	gdt[6] = base >> 32;
}

static void gate(uint64_t *idt, unsigned v, uint64_t off, uint64_t dpl)
{
	/* Interrupt gate on IST 1: a fault always finds a good stack. */
	idt[2 * v] = (off & 0xffff) | ((uint64_t)KC_SEL_KCODE << 16) |
	             (1ULL << 32) | ((0x8eULL | (dpl << 5)) << 40) |
	             (((off >> 16) & 0xffff) << 48);
	idt[2 * v + 1] = off >> 32;
}

static void build_idt(uint64_t *idt)
{
	unsigned v;

	/* DPL 0: user code cannot raise exceptions with `int N`.  Vector 3
	 * is DPL 3 so that `int3` (GDB's breakpoints, breakpoint()) is a #BP
	 * from user mode on VMX/SVM as under PVM, not a #GP (the CPU checks
	 * the gate's DPL for int3 as for any software interrupt).  So is
	 * KC_VEC_FLUSH, the entry's TLB flush: user code that raises it only
	 * flushes its own TLB. */
	for (v = 0; v < 32; v++)
		gate(idt, v, KC_STUBS_ADDR + KC_STUB_EXC + v * KC_STUB_EXC_SIZE,
		     v == KC_VEC_BP ? 3 : 0);
	gate(idt, KC_VEC_FLUSH, KC_STUBS_ADDR + KC_STUB_FLUSH, 3);
}

static void build_tss(uint8_t *tss)
{
	uint64_t top = KC_IST_TOP;
	uint16_t iopb = TSS_IOPB;

	memset(tss, 0, TSS_LIMIT + 1);
	memcpy(tss + 4, &top, 8);  /* RSP0 */
	memcpy(tss + 36, &top, 8); /* IST1 */
	memcpy(tss + 102, &iopb, 2);
	memset(tss + TSS_IOPB, 0xff, 256 / 8 + 1); /* no port for ring 3 */
}

void kc_x86_build_system(uint8_t *mem)
{
	uint16_t fcw = 0x037f;
	uint32_t mxcsr = 0x1f80;

	build_gdt((uint64_t *)(mem + KC_GDT_ADDR));
	build_idt((uint64_t *)(mem + KC_IDT_ADDR));
	build_tss(mem + KC_TSS_ADDR);
	memcpy(mem + KC_STUBS_ADDR, kc_stubs_begin,
	       (size_t)(kc_stubs_end - kc_stubs_begin));
	memset(mem + KC_FXAREA_ADDR, 0, 512);
	memcpy(mem + KC_FXAREA_ADDR, &fcw, 2);
	memcpy(mem + KC_FXAREA_ADDR + 24, &mxcsr, 4);
}

static void segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
                    uint8_t dpl, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

void kc_x86_user_segments(struct kvm_sregs *s)
{
	uint64_t fs_base = s->fs.base, gs_base = s->gs.base;

	/* As sysret leaves CS and SS (STAR in kvm.c): the two agree. */
	segment(&s->cs, KC_SEL_UCODE, 11, 3, 1);
	segment(&s->ss, KC_SEL_UDATA, 3, 3, 0);
	s->ds = s->es = s->fs = s->gs = s->ss;
	s->fs.base = fs_base;
	s->gs.base = gs_base;
}

void kc_x86_sregs(struct kvm_sregs *s, const struct kc_layout *lay)
{
	memset(s, 0, sizeof(*s));
	kc_x86_user_segments(s);
	s->tr.base = KC_TSS_ADDR;
	s->tr.limit = TSS_LIMIT;
	s->tr.selector = KC_SEL_TSS;
	s->tr.type = 11; /* busy 64-bit TSS */
	s->tr.present = 1;
	s->ldt.unusable = 1;
	s->ldt.type = 2;
	s->gdt.base = KC_GDT_ADDR;
	s->gdt.limit = GDT_ENTRIES * 8 - 1;
	s->idt.base = KC_IDT_ADDR;
	s->idt.limit = IDT_VECTORS * 16 - 1;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s->cr3 = KC_PML4(lay);
	s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	s->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
}

uint64_t kc_x86_user_rflags(uint64_t rflags)
{
	return (rflags & KC_RFLAGS_USER_KEEP) | KC_RFLAGS_USER_SET;
}

static bool segment_differs(const struct kvm_segment *a,
                            const struct kvm_segment *b)
{
	/* Field by field: KVM leaves the padding as it found it. */
	return a->base != b->base || a->limit != b->limit ||
	       a->selector != b->selector || a->type != b->type ||
	       a->present != b->present || a->dpl != b->dpl || a->db != b->db ||
	       a->s != b->s || a->l != b->l || a->g != b->g ||
	       a->avl != b->avl || a->unusable != b->unusable;
}

bool kc_x86_user_segments_differ(const struct kvm_sregs *now,
                                 const struct kvm_sregs *snap)
{
	return segment_differs(&now->ds, &snap->ds) ||
	       segment_differs(&now->es, &snap->es) ||
	       segment_differs(&now->fs, &snap->fs) ||
	       segment_differs(&now->gs, &snap->gs) ||
	       now->cs.selector != snap->cs.selector ||
	       now->ss.selector != snap->ss.selector;
}
