/* The KVM floor for the micro benchmark: a bare VM with no kvm-core in it,
 * whose guest does one `out` per KVM_RUN, entered in ring 0 or round trip
 * through user mode the way kvm-core's stubs do it. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "floor.h"

/* Guest physical == virtual.  Supervisor pages except the user code. */
#define MEM_SIZE  (2u << 20)
#define GDT       0x1000
#define IDT       0x2000
#define TSS       0x3000
#define CODE      0x4000 /* ring-0 code */
#define CODE_UD   0x4040 /* #UD handler */
#define CODE_EXC  0x4080 /* every other vector: 4 bytes each */
#define CODE_LOOP 0x4200 /* 64 turns of a 2-instruction loop, `out` */
#define STACK_TOP 0x8000 /* RSP0 and IST1 */
#define PML4      0x10000
#define PDPT      0x11000
#define PD        0x12000
#define PT        0x13000
#define USER_CODE 0x100000
#define USER_OUT  0x100010 /* `out` in user mode, with IOPL 3 */
#define USER_LOOP 0x100020 /* the same loop in user mode, then `ud2` */
#define USER_MMIO 0x100080 /* a store to CALL_VA, which maps CALL_GPA */
#define CALL_VA   0x101000
#define CALL_GPA  0x400000 /* outside the memory slot */
#define PORT_DONE 0x60
#define PORT_EXC  0x80 /* + vector */
#define MSR_STAR  0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084

static int kvm_fd = -1;
static struct kvm_cpuid2 *cpuid;
static int run_size;

int floor_init(void)
{
	int n = 256;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return -errno;
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
	if (cpuid == NULL || run_size <= 0)
		return -ENOMEM;
	cpuid->nent = (uint32_t)n;
	return ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) ? -errno : 0;
}

int floor_create(struct floor_vm *f)
{
	struct kvm_userspace_memory_region region = {0};

	memset(f, 0, sizeof(*f));
	f->vm_fd = f->vcpu_fd = -1;
	f->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		return -errno;
	}
	f->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (f->vm_fd < 0)
		return -errno;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)f->mem;
	if (ioctl(f->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	f->vcpu_fd = ioctl(f->vm_fd, KVM_CREATE_VCPU, 0);
	if (f->vcpu_fd < 0)
		return -errno;
	f->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE,
	              MAP_SHARED, f->vcpu_fd, 0);
	if (f->run == MAP_FAILED) {
		f->run = NULL;
		return -errno;
	}
	return 0;
}

void floor_destroy(struct floor_vm *f)
{
	if (f->run)
		munmap(f->run, (size_t)run_size);
	if (f->vcpu_fd >= 0)
		close(f->vcpu_fd);
	if (f->vm_fd >= 0)
		close(f->vm_fd);
	if (f->mem)
		munmap(f->mem, MEM_SIZE);
	free(f->ring0);
	memset(f, 0, sizeof(*f));
	f->vm_fd = f->vcpu_fd = -1;
}

static void gate(uint64_t *idt, unsigned v, uint64_t off)
{
	idt[2 * v] = (off & 0xffff) | (0x08ULL << 16) | (1ULL << 32) |
	             (0x8eULL << 40) | (((off >> 16) & 0xffff) << 48);
	idt[2 * v + 1] = 0;
}

/* GDT, IDT, TSS and page tables like kvm-core's, in miniature. */
static void build_memory(uint8_t *m)
{
	static const uint8_t code[] = {
	    0xe6, PORT_DONE, /* out %al, $PORT_DONE (ring-0 floor) */
	    0xeb, 0xfc,      /* jmp back */
	};
	static const uint8_t entry[] = {
	    0x0f, 0x20, 0xd8, /* mov %cr3, %rax: kvm-core's entry stub */
	    0x0f, 0x22, 0xd8, /* mov %rax, %cr3  flushes the TLB, then */
	    0x48, 0x0f, 0x07, /* sysretq to rcx in user mode */
	};
	/* Not formatted: one instruction a line. */
	/* clang-format off */
	static const uint8_t loop64[] = { /* 128 instructions, then leave */
	    0xb9, 0x40, 0x00, 0x00, 0x00, /* mov $64, %ecx */
	    0xff, 0xc9,                   /* 1: dec %ecx */
	    0x75, 0xfc,                   /* jnz 1b */
	    0xe6, PORT_DONE,              /* ring 0: out */
	};
	/* clang-format on */
	static const uint8_t on_ud[] = {0xe6, PORT_DONE, 0xf4}; /* out; hlt */
	static const uint8_t store[] = {
	    0x88,           0x04,
	    0x25, /* mov %al, CALL_VA: kvm-core's call */
	    CALL_VA & 0xff, (CALL_VA >> 8) & 0xff,
	    CALL_VA >> 16,  0,
	};
	uint64_t *gdt = (uint64_t *)(m + GDT), *idt = (uint64_t *)(m + IDT);
	uint64_t *pml4 = (uint64_t *)(m + PML4), *pdpt = (uint64_t *)(m + PDPT);
	uint64_t *pd = (uint64_t *)(m + PD), *pt = (uint64_t *)(m + PT);
	uint64_t top = STACK_TOP;
	unsigned i;

	gdt[1] = 0x00af9b000000ffffULL; /* kernel code */
	gdt[2] = 0x00cf93000000ffffULL; /* kernel data */
	gdt[3] = 0x00cff3000000ffffULL; /* user data */
	gdt[4] = 0x00affb000000ffffULL; /* user code */
	gdt[5] = 0x67 | ((uint64_t)TSS << 16) | (0x8bULL << 40);
	gdt[6] = 0;
	memcpy(m + TSS + 4, &top, 8);  /* RSP0 */
	memcpy(m + TSS + 36, &top, 8); /* IST1 */
	m[TSS + 102] = 104;            /* no I/O bitmap */
	for (i = 0; i < 32; i++)
		gate(idt, i, CODE_EXC + 4 * i);
	gate(idt, 6, CODE_UD);
	pml4[0] = PDPT | 7;
	pdpt[0] = PD | 7;
	pd[0] = PT | 7;
	for (i = 1; i < 512; i++)
		pt[i] = ((uint64_t)i << 12) | 3;
	pt[USER_CODE >> 12] = USER_CODE | 7;
	pt[CALL_VA >> 12] = CALL_GPA | 7;
	memcpy(m + CODE, code, sizeof(code));
	memcpy(m + CODE + 0x10, entry, sizeof(entry));
	memcpy(m + CODE_LOOP, loop64, sizeof(loop64));
	memcpy(m + USER_LOOP, loop64, sizeof(loop64) - 2);
	m[USER_LOOP + sizeof(loop64) - 2] = 0x0f; /* user: ud2 */
	m[USER_LOOP + sizeof(loop64) - 1] = 0x0b;
	memcpy(m + CODE_UD, on_ud, sizeof(on_ud));
	for (i = 0; i < 32; i++) { /* out %al, $(0x80 + vector); hlt */
		m[CODE_EXC + 4 * i] = 0xe6;
		m[CODE_EXC + 4 * i + 1] = (uint8_t)(PORT_EXC + i);
		m[CODE_EXC + 4 * i + 2] = 0xf4;
	}
	m[USER_CODE] = 0x0f; /* ud2 */
	m[USER_CODE + 1] = 0x0b;
	memcpy(m + USER_OUT, code, sizeof(code)); /* out from user mode */
	memcpy(m + USER_MMIO, store, sizeof(store));
}

static void segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

int floor_setup(struct floor_vm *f)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} msrs;
	struct kvm_sregs s;

	build_memory(f->mem);
	if (ioctl(f->vcpu_fd, KVM_SET_CPUID2, cpuid) ||
	    ioctl(f->vcpu_fd, KVM_GET_SREGS, &s))
		return -errno;
	segment(&s.cs, 0x08, 11, 1);
	segment(&s.ds, 0x10, 3, 0);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = TSS;
	s.tr.limit = 0x67;
	s.tr.selector = 0x28;
	s.tr.type = 11;
	s.tr.present = 1;
	s.gdt.base = GDT;
	s.gdt.limit = 7 * 8 - 1;
	s.idt.base = IDT;
	s.idt.limit = 32 * 16 - 1;
	s.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	s.cr3 = PML4;
	s.cr4 = 0x620;  /* PAE OSFXSR OSXMMEXCPT */
	s.efer = 0xd01; /* NXE LMA LME SCE */
	if (ioctl(f->vcpu_fd, KVM_SET_SREGS, &s))
		return -errno;
	f->ring0 = malloc(2 * sizeof(s));
	if (f->ring0 == NULL)
		return -ENOMEM;
	f->user = f->ring0 + 1;
	*f->ring0 = s;
	*f->user = s;
	segment(&f->user->cs, 0x23, 11, 1);
	segment(&f->user->ss, 0x1b, 3, 0);
	f->user->cs.dpl = f->user->ss.dpl = 3;
	f->user->ds = f->user->es = f->user->fs = f->user->gs = f->user->ss;
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 3;
	msrs.e[0].index = MSR_STAR; /* sysret: CS 0x23, SS 0x1b */
	msrs.e[0].data = (0x13ULL << 48) | (0x08ULL << 32);
	msrs.e[1].index = MSR_LSTAR;
	msrs.e[1].data = USER_CODE;
	msrs.e[2].index = MSR_FMASK;
	msrs.e[2].data = 0x47700;
	if (ioctl(f->vcpu_fd, KVM_SET_MSRS, &msrs) != 3)
		return -EIO;
	f->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	f->last = FLOOR_USER;
	return 0;
}

/* Registers for the next entry through the sync-regs area, as kvm-core's
 * kc_vm_enter_user() writes them. */
static void enter(struct floor_vm *f, enum floor_kind kind)
{
	struct kvm_regs *r = &f->run->s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rip = kind == FLOOR_RING0_LOOP                         ? CODE_LOOP
	         : kind == FLOOR_RING0 || kind == FLOOR_RING0_RAW ? CODE
	                                                          : CODE + 0x10;
	r->rsp = STACK_TOP;
	r->rflags = 0x2;
	r->rcx = kind == FLOOR_USER_OUT    ? USER_OUT
	         : kind == FLOOR_USER_LOOP ? USER_LOOP
	                                   : USER_CODE;
	r->r11 = kind == FLOOR_USER_OUT ? 0x3202 : 0x202; /* IOPL 3 for out */
	f->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
}

/* Still in user mode from the last `out`: only rip, rsp and rflags. */
static void enter_user_again(struct floor_vm *f)
{
	struct kvm_regs *r = &f->run->s.regs.regs;

	r->rip = USER_OUT;
	r->rsp = STACK_TOP - 0x100;
	r->rflags = 0x3202;
	f->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
}

/* kvm-core's entry: the vCPU stays in user mode from one request to the
 * next, and only the registers are written. */
static int enter_user_mmio(struct floor_vm *f)
{
	struct kvm_regs *r = &f->run->s.regs.regs;

	if (f->last != FLOOR_USER_MMIO &&
	    ioctl(f->vcpu_fd, KVM_SET_SREGS, f->user))
		return -errno;
	memset(r, 0, sizeof(*r));
	r->rip = USER_MMIO;
	r->rsp = STACK_TOP - 0x100;
	r->rflags = 0x202;
	f->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	return 0;
}

/* Where a kind leaves the vCPU: in user mode (a user-mode exit the host
 * re-enters directly), or in ring 0 (everything else ends at a ring-0
 * `out`, and enter() enters ring 0). */
static bool ends_in_user_mode(enum floor_kind kind)
{
	return kind == FLOOR_USER_OUT || kind == FLOOR_USER_MMIO;
}

int floor_round_trip(struct floor_vm *f, enum floor_kind kind)
{
	if (kind == FLOOR_USER_MMIO) {
		if (enter_user_mmio(f))
			return -errno;
	} else if (ends_in_user_mode(f->last) && f->last != kind) {
		/* Back to ring 0 for enter(): on hosts where a user-mode
		 * `out` works (VMX/SVM) FLOOR_USER_OUT ends in user mode. */
		if (ioctl(f->vcpu_fd, KVM_SET_SREGS, f->ring0))
			return -errno;
		enter(f, kind);
	} else if (kind == FLOOR_USER_OUT && f->last == FLOOR_USER_OUT) {
		enter_user_again(f);
	} else if (kind != FLOOR_RING0_RAW || f->last != FLOOR_RING0_RAW) {
		enter(f, kind);
	}
	f->last = kind;
	if (ioctl(f->vcpu_fd, KVM_RUN, 0))
		return -errno;
	if (f->run->exit_reason == KVM_EXIT_IO && f->run->io.port == PORT_DONE)
		return 0;
	if (f->run->exit_reason == KVM_EXIT_MMIO &&
	    f->run->mmio.phys_addr == CALL_GPA && kind == FLOOR_USER_MMIO)
		return 0;
	if (f->run->exit_reason == KVM_EXIT_IO && f->run->io.port >= PORT_EXC &&
	    f->run->io.port < PORT_EXC + 32)
		return -EPERM;
	return -EIO;
}

uint64_t floor_fault_rflags(const struct floor_vm *f)
{
	uint64_t frame[4]; /* error code, rip, cs, rflags on the IST stack */

	memcpy(frame, f->mem + STACK_TOP - 48, sizeof(frame));
	return frame[3];
}
