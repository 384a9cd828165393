/* What returns to user mode and what a host handler may read on the guest's
 * word: user RFLAGS, the segments the reset compares, frames on the
 * ring-0 stack.  Pure functions; no /dev/kvm needed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "kc_gmem.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_result.h"
#include "kc_vm.h"
#include "kc_x86.h"
#include "sys_proc.h"

#define CF   0x1ULL
#define TF   0x100ULL
#define IF   0x200ULL
#define DF   0x400ULL
#define IOPL 0x3000ULL
#define NT   0x4000ULL
#define RF   0x10000ULL
#define VM   0x20000ULL
#define AC   0x40000ULL
#define VIF  0x80000ULL
#define VIP  0x100000ULL
#define ID   0x200000ULL

Test(user_rflags, no_iopl_nt_or_virtual_8086_ever)
{
	uint64_t all = ~0ULL, got = kc_x86_user_rflags(all);

	cr_assert_eq(got & (IOPL | NT | RF | VM | VIF | VIP), 0, "%#llx",
	             (unsigned long long)got);
	cr_assert_eq(got >> 22, 0, "reserved high bits: %#llx",
	             (unsigned long long)got);
}

Test(user_rflags, what_popf_could_set_survives)
{
	uint64_t mine = CF | TF | DF | AC | ID | 0x8d4; /* PF AF ZF SF OF */

	cr_assert_eq(kc_x86_user_rflags(mine | IOPL | NT), mine | IF | 0x2);
}

Test(user_rflags, interrupts_stay_on)
{
	cr_assert_eq(kc_x86_user_rflags(0), IF | 0x2);
}

static struct kvm_sregs snap, now;

static void make_sregs(void)
{
	struct kc_layout l;

	memset(&l, 0, sizeof(l));
	l.pt_base = 0x100000;
	kc_x86_sregs(&snap, &l);
	now = snap;
}

TestSuite(user_segments, .init = make_sregs);

Test(user_segments, same_state_is_no_change)
{
	cr_assert_not(kc_x86_user_segments_differ(&now, &snap));
}

Test(user_segments, the_snapshot_is_user_mode)
{
	cr_assert_eq(snap.cs.selector, KC_SEL_UCODE);
	cr_assert_eq(snap.cs.dpl, 3);
	cr_assert_eq(snap.ss.selector, KC_SEL_UDATA);
	cr_assert_eq(snap.ss.dpl, 3);
	cr_assert_eq(snap.fs.dpl, 3);
}

Test(user_segments, loaded_selectors_differ)
{
	now.fs.selector = 0;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
	now = snap;
	now.gs.dpl = 0;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
	now = snap;
	now.ds.unusable = 1;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
	now = snap;
	now.es.type ^= 1;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
}

Test(user_segments, fs_and_gs_bases_differ)
{
	now.fs.base = 0x7000;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
	now = snap;
	now.gs.base = 0x7000;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
}

Test(user_segments, an_exit_from_ring_0_differs)
{
	now.cs.selector = KC_SEL_KCODE;
	now.ss.selector = 0;
	cr_assert(kc_x86_user_segments_differ(&now, &snap));
}

Test(user_segments, user_segments_keep_the_tls_bases)
{
	now.cs.selector = KC_SEL_KCODE;
	now.fs.base = 0x7000;
	now.gs.base = 0x8000;
	kc_x86_user_segments(&now);
	cr_assert_eq(now.fs.base, 0x7000);
	cr_assert_eq(now.gs.base, 0x8000);
	now.fs.base = now.gs.base = 0;
	cr_assert_not(kc_x86_user_segments_differ(&now, &snap));
}

Test(user_segments, what_requests_cannot_change_is_not_compared)
{
	/* CR2 moves with every page fault; padding is KVM's to leave. */
	now.cr2 = 0xdead000;
	now.fs.padding = 0x5a;
	cr_assert_not(kc_x86_user_segments_differ(&now, &snap));
}

static uint8_t *ist_mem;

static void make_ist_mem(void)
{
	ist_mem = calloc(1, KC_IST_TOP + KC_PAGE_SIZE);
}

static void free_ist_mem(void)
{
	free(ist_mem);
}

TestSuite(ist_frames, .init = make_ist_mem, .fini = free_ist_mem);

Test(ist_frames, frames_on_the_stack_translate)
{
	cr_assert_eq(kc_gmem_ist(ist_mem, KC_IST_TOP - 40, 40),
	             ist_mem + KC_IST_TOP - 40);
	cr_assert_eq(kc_gmem_ist(ist_mem, KC_IST_BASE, 48),
	             ist_mem + KC_IST_BASE);
}

Test(ist_frames, guest_stack_pointers_elsewhere_are_refused)
{
	cr_assert_null(kc_gmem_ist(ist_mem, KC_IST_TOP - 32, 40));
	cr_assert_null(kc_gmem_ist(ist_mem, KC_IST_BASE - 8, 40));
	cr_assert_null(kc_gmem_ist(ist_mem, 0x7ffffff000ULL, 40));
	cr_assert_null(kc_gmem_ist(ist_mem, UINT64_MAX - 8, 40));
	cr_assert_null(kc_gmem_ist(ist_mem, KC_IST_BASE, UINT64_MAX));
}

/* The vectors the CPU pushes an error code for (Intel SDM vol. 3, 6.13):
 * #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX. */
Test(ist_frames, error_codes_come_with_the_documented_vectors)
{
	static const unsigned with[] = {8, 10, 11, 12, 13, 14, 17, 21, 29, 30};
	unsigned v, i, n = 0;

	for (v = 0; v < 40; v++) {
		bool want = false;

		for (i = 0; i < sizeof(with) / sizeof(with[0]); i++)
			want |= with[i] == v;
		cr_assert_eq(kc_x86_has_error_code(v), want, "vector %u", v);
		n += want;
	}
	cr_assert_eq(n, 10);
}

Test(ist_frames, an_exception_frame_starts_past_its_error_code)
{
	uint64_t rsp = KC_IST_TOP - 48, err = 1, *f;

	memcpy(ist_mem + rsp, &(uint64_t){0x14}, 8);
	f = kc_gmem_exc_frame(ist_mem, rsp, 14, &err);
	cr_assert_eq(f, (uint64_t *)(ist_mem + rsp + 8));
	cr_assert_eq(err, 0x14);
	f = kc_gmem_exc_frame(ist_mem, rsp, KC_VEC_UD, &err);
	cr_assert_eq(f, (uint64_t *)(ist_mem + rsp));
	cr_assert_eq(err, 0);
}

Test(ist_frames, a_frame_reaching_past_the_stack_is_refused)
{
	/* Room for a #UD frame, not for a #PF frame and its error code. */
	cr_assert_not_null(
	    kc_gmem_exc_frame(ist_mem, KC_IST_TOP - 40, KC_VEC_UD, NULL));
	cr_assert_null(kc_gmem_exc_frame(ist_mem, KC_IST_TOP - 40, 14, NULL));
	cr_assert_null(kc_gmem_exc_frame(ist_mem, KC_IST_BASE - 8, 14, NULL));
	cr_assert_null(kc_gmem_exc_frame(ist_mem, UINT64_MAX - 8, 6, NULL));
}

/* The fault report reads the frame through the same check. */
static struct kc_image fault_img;
static struct kc_vm fault_vm;
static struct kc_result fault_res;

static void make_fault_vm(void)
{
	uint64_t next;

	fake_vm_init(&fault_vm, &fault_img, 0x500000, &next);
	fault_vm.run = calloc(1, sizeof(*fault_vm.run));
	fault_vm.res = &fault_res;
}

static void free_fault_vm(void)
{
	free(fault_vm.run);
	free(fault_vm.mem);
}

TestSuite(fault_report, .init = make_fault_vm, .fini = free_fault_vm);

/* An exception frame at rsp: error code (when err_code), rip, cs. */
static void exception_at(uint64_t rsp, bool err_code, uint64_t rip)
{
	uint64_t *p = (uint64_t *)(fault_vm.mem + rsp);

	if (err_code)
		*p++ = 0x10;
	p[KC_FRAME_RIP] = rip;
	p[KC_FRAME_CS] = KC_SEL_UCODE;
	fault_vm.run->s.regs.regs.rsp = rsp;
}

Test(fault_report, names_the_rip_past_the_error_code)
{
	exception_at(KC_IST_TOP - 48, true, 0x401234);
	cr_assert_eq(kc_vm_fault(&fault_vm, 13), KC_ERR_FAULT);
	cr_assert_str_eq(fault_res.error, "general protection fault "
	                                  "(selector 0x10) at RIP 0x401234");
	exception_at(KC_IST_TOP - 40, false, 0x405678);
	cr_assert_eq(kc_vm_fault(&fault_vm, 6), KC_ERR_FAULT);
	cr_assert_str_eq(fault_res.error, "invalid opcode at RIP 0x405678");
}

Test(fault_report, a_frame_off_the_stack_is_not_read)
{
	fault_vm.run->s.regs.regs.rsp = KC_IST_TOP - 40; /* no room for err */
	cr_assert_eq(kc_vm_fault(&fault_vm, 14), KC_ERR_FAULT);
	cr_assert_str_eq(fault_res.error, "exception 14 with a bad stack");
}

/* READY's rsp is the tenant's own (a call leaves it as it was): the
 * handler takes it only above writable user stack. */
static struct kc_image ready_img;
static struct kc_vm ready_vm;
static struct kc_result ready_res;

static void make_ready_vm(void)
{
	struct kfpm_ready *arg;
	uint64_t next;

	fake_vm_init(&ready_vm, &ready_img, 0x500000, &next);
	fake_vm_map(&ready_vm, &next, 0x400000, 0x1000, KC_PTE_U | KC_PTE_W);
	arg = (struct kfpm_ready *)(ready_vm.mem + 0x400000);
	arg->abi_version = KFPM_ABI_VERSION;
	arg->entry = arg->backend = 0x400800;
	ready_vm.res = &ready_res;
	ready_vm.booting = true;
}

static void free_ready_vm(void)
{
	free(ready_vm.mem);
}

TestSuite(hyper_ready, .init = make_ready_vm, .fini = free_ready_vm);

Test(hyper_ready, takes_the_callers_stack_pointer)
{
	struct kvm_regs r = {.rdi = 0x400000, .rsp = 0x401000};

	cr_assert_eq(kc_hyper_ready(&ready_vm, &r), KC_OK, "%s",
	             ready_res.error);
	cr_assert_eq(ready_vm.ready_rsp, 0x401000);
}

Test(hyper_ready, a_stack_pointer_above_no_writable_user_stack_is_refused)
{
	uint64_t bad[] = {ready_img.lay.mem_size + (1ULL << 30),
	                  0x400100, /* 512 bytes below reach unmapped memory */
	                  KC_IST_TOP - 8,        /* supervisor only */
	                  KC_STUBS_ADDR + 0x800, /* read-only */
	                  100,
	                  UINT64_MAX - 16};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kvm_regs r = {.rdi = 0x400000, .rsp = bad[i]};

		cr_assert_eq(kc_hyper_ready(&ready_vm, &r), KC_ERR_FAULT,
		             "rsp %#llx", (unsigned long long)bad[i]);
		cr_assert(strstr(ready_res.error, "stack pointer"), "%s",
		          ready_res.error);
	}
}

/* The DPL of IDT gate v, as kc_x86_build_system() wrote it. */
static unsigned gate_dpl(const uint8_t *mem, unsigned v)
{
	uint64_t lo;

	memcpy(&lo, mem + KC_IDT_ADDR + 16 * v, 8);
	return (unsigned)(lo >> 45) & 3;
}

/* Ring 3 has no I/O port: it leaves for the host through the call page,
 * and an `out` to an exception stub's port would pass for a fault. */
Test(tss, no_port_is_open_to_user_mode)
{
	uint8_t *mem = calloc(1, KC_IST_TOP);
	uint16_t iopb;
	unsigned i;

	cr_assert_not_null(mem);
	kc_x86_build_system(mem);
	memcpy(&iopb, mem + KC_TSS_ADDR + 102, 2);
	for (i = 0; i <= 256 / 8; i++) /* the bitmap and its end byte */
		cr_assert_eq(mem[KC_TSS_ADDR + iopb + i], 0xff, "byte %u", i);
	free(mem);
}

/* The call stub: a one-byte store to the call page, then sysretq exactly
 * where run.c expects a ring-0 call to resume, then the FXSAVE image. */
Test(stubs, the_call_is_one_store_then_sysretq)
{
	static const uint8_t store[] = {
	    0x88, 0x04, 0x25, KC_CALL_ADDR & 0xff, (KC_CALL_ADDR >> 8) & 0xff,
	    0,    0};
	static const uint8_t sysretq[] = {0x48, 0x0f, 0x07};
	uint8_t *mem = calloc(1, KC_IST_TOP);
	uint16_t fcw;

	cr_assert_not_null(mem);
	kc_x86_build_system(mem);
	cr_assert_arr_eq(mem + KC_STUBS_ADDR + KC_STUB_SYSCALL, store,
	                 sizeof(store));
	cr_assert_eq(KC_STUB_SYSCALL + sizeof(store), KC_STUB_SYSRET);
	cr_assert_arr_eq(mem + KC_STUBS_ADDR + KC_STUB_SYSRET, sysretq,
	                 sizeof(sysretq));
	memcpy(&fcw, mem + KC_FXAREA_ADDR, 2);
	cr_assert_eq(fcw, 0x037f);
	free(mem);
}

/* The call page is not memory: no host handler reads or writes guest
 * memory through it, whatever a guest pointer says. */
Test(stubs, the_call_page_is_not_guest_memory)
{
	struct kc_image img;
	struct kc_vm vm;
	uint64_t next, *pte;

	fake_vm_init(&vm, &img, 0x500000, &next);
	fake_vm_map(&vm, &next, KC_CALL_ADDR, KC_PAGE_SIZE,
	            KC_PTE_U | KC_PTE_W);
	cr_assert_not_null(kc_gmem(vm.mem, &img.lay, KC_CALL_ADDR, 8, 0));
	pte = kc_pt_lookup(vm.mem, &img.lay, KC_CALL_ADDR, NULL);
	*pte = (*pte & ~KC_PTE_ADDR) | KC_CALL_GPA;
	cr_assert_null(kc_gmem(vm.mem, &img.lay, KC_CALL_ADDR, 8, 0));
	cr_assert_null(
	    kc_gmem(vm.mem, &img.lay, KC_CALL_ADDR, 8, KC_GMEM_WRITE));
	free(vm.mem);
}

/* On VMX/SVM, int3 from user mode through a DPL 0 gate is a #GP: GDB's
 * breakpoints and breakpoint() would fault instead of stopping. */
Test(idt, only_int3_may_be_raised_from_user_mode)
{
	uint8_t *mem = calloc(1, KC_FXAREA_ADDR + 4096);
	unsigned v;

	cr_assert_not_null(mem);
	kc_x86_build_system(mem);
	for (v = 0; v < 32; v++)
		cr_assert_eq(gate_dpl(mem, v), v == 3 ? 3 : 0, "vector %u", v);
	/* and the entry's TLB flush, which only flushes */
	cr_assert_eq(gate_dpl(mem, KC_VEC_FLUSH), 3);
	free(mem);
}
