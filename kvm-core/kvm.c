/* The KVM side of a guest: /dev/kvm, the VM and vCPU and their memory
 * slots, and the life of a struct kc_vm around them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kc_files.h"
#include "kc_kvm.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_timer.h"
#include "kc_vm.h"
#include "kc_x86.h"

#define MSR_STAR                  0xc0000081
#define MSR_LSTAR                 0xc0000082
#define MSR_CSTAR                 0xc0000083
#define MSR_SYSCALL_MASK          0xc0000084
#define RFLAGS_CLEARED_ON_SYSCALL 0x47700 /* TF IF DF IOPL NT AC */
#define CR4_OSXSAVE               (1u << 18)
#define CPUID1_ECX_XSAVE          (1u << 26)
#define XCR0_X87_SSE              0x3
#define CPUID_ADDRESS_SIZES       0x80000008

static int kvm_fd = -1;
static int run_mmap_size;
static struct kvm_cpuid2 *cpuid;
static bool have_xsave;
static bool have_sync_sregs;  /* segments read at every exit, for free */
static bool have_sync_events; /* vCPU events written with KVM_RUN */

bool kc_kvm_sync_events(void)
{
	return have_sync_events;
}

int kc_init(char *err, size_t errlen)
{
	int r, n, phys_bits = 0;

	if (kvm_fd >= 0)
		return 0;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(-r));
		return r;
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "unsupported KVM API version");
		goto fail;
	}
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (r <= 0 || !(r & KVM_SYNC_X86_REGS) ||
	    ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(
		    err, errlen,
		    "KVM lacks KVM_CAP_SYNC_REGS or KVM_CAP_IMMEDIATE_EXIT");
		goto fail;
	}
	have_sync_sregs = r & KVM_SYNC_X86_SREGS;
	have_sync_events = r & KVM_SYNC_X86_EVENTS;
	run_mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (n = 64; n <= 4096; n *= 2) {
		free(cpuid);
		cpuid =
		    calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		if (cpuid == NULL)
			break;
		cpuid->nent = (uint32_t)n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG) {
			n = 8192;
			break;
		}
	}
	if (cpuid == NULL || n > 4096 || run_mmap_size <= 0) {
		snprintf(err, errlen, "cannot read KVM's supported CPUID");
		goto fail;
	}
	for (n = 0; n < (int)cpuid->nent; n++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[n];

		if (e->function == 1)
			have_xsave = e->ecx & CPUID1_ECX_XSAVE;
		if (e->function == CPUID_ADDRESS_SIZES)
			phys_bits = e->eax & 0xff;
	}
	/* The call page's guest-physical address must be one the guest's
	 * page tables can hold (x86_defs.h KC_CALL_GPA). */
	if (phys_bits && (KC_CALL_GPA >> phys_bits) != 0) {
		snprintf(err, errlen,
		         "the CPU has %d physical address bits; kvm-fpm "
		         "needs at least 37",
		         phys_bits);
		goto fail;
	}
	return 0;
fail:
	close(kvm_fd);
	kvm_fd = -1;
	return -ENODEV;
}

static int set_msrs(int vcpu_fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[4];
	} m;
	uint64_t star = ((uint64_t)(KC_SEL_KDATA | 3) << 48) |
	                ((uint64_t)KC_SEL_KCODE << 32);

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 4;
	m.e[0].index = MSR_STAR;
	m.e[0].data = star;
	m.e[1].index = MSR_LSTAR;
	m.e[1].data = KC_STUBS_ADDR + KC_STUB_SYSCALL;
	m.e[2].index = MSR_CSTAR;
	m.e[2].data = 0;
	m.e[3].index = MSR_SYSCALL_MASK;
	m.e[3].data = RFLAGS_CLEARED_ON_SYSCALL;
	return ioctl(vcpu_fd, KVM_SET_MSRS, &m) == 4 ? 0 : -EIO;
}

/*
 * Only x87 and SSE state is enabled: the entry stub's fxrstor resets all
 * of it for every request, and AVX (whose upper YMM halves fxrstor leaves
 * alone) is an invalid opcode.  Under PVM guest user code runs with the
 * host's CR4, so AVX would run with the host's XCR0 unless the guest's
 * CR4.OSXSAVE makes KVM load this XCR0 for it.
 */
static int limit_xcr0(int vcpu_fd)
{
	struct kvm_xcrs x;

	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = XCR0_X87_SSE;
	return ioctl(vcpu_fd, KVM_SET_XCRS, &x) ? -errno : 0;
}

/* Back [start, end) of guest memory with slot from the host view mem, or
 * delete the slot when the range is empty. */
static int set_slot(struct kc_vm *vm, uint32_t slot, uint8_t *mem,
                    uint64_t start, uint64_t end)
{
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .guest_phys_addr = start,
	    .memory_size = end - start,
	    .userspace_addr = (uintptr_t)(mem + start),
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	return 0;
}

int kc_vm_set_memory(struct kc_vm *vm, uint8_t *mem)
{
	const struct kc_slots *s = &vm->slots;
	uint64_t mem_size = vm->img->lay.mem_size;
	int r = 0;

	/* A slot's backing cannot change in place: delete, then add. */
	if (vm->mem) {
		r = set_slot(vm, 0, vm->mem, 0, 0);
		if (r == 0)
			r = set_slot(vm, 1, vm->mem, 0, 0);
	}
	if (r == 0)
		r = set_slot(vm, 0, mem, 0, s->low_end);
	if (r == 0)
		r = set_slot(vm, 1, mem, s->high_start, mem_size);
	if (r == 0)
		vm->mem = mem;
	return r;
}

/* Nor can its size: a slot grows by being deleted and added again, which
 * makes KVM drop its shadow pages.  Rare: a slot at least doubles. */
int kc_vm_grow_memory(struct kc_vm *vm)
{
	struct kc_slots s = vm->slots;
	uint64_t mem_size = vm->img->lay.mem_size;
	int r = 0;

	if (kc_slots_cover(&s, vm->alloc.brk_high, vm->alloc.mmap_min))
		return 0;
	kc_slots_plan(&vm->img->lay, vm->alloc.brk_high, vm->alloc.mmap_min,
	              &s);
	if (s.low_end != vm->slots.low_end) {
		r = set_slot(vm, 0, vm->mem, 0, 0);
		if (r == 0)
			r = set_slot(vm, 0, vm->mem, 0, s.low_end);
	}
	if (r == 0 && s.high_start != vm->slots.high_start) {
		r = set_slot(vm, 1, vm->mem, 0, 0);
		if (r == 0)
			r = set_slot(vm, 1, vm->mem, s.high_start, mem_size);
	}
	if (r) {
		vm->broken = true; /* the rebuild backs the snapshot again */
		return r;
	}
	vm->slots = s;
	vm->stats.slot_grows++;
	vm->flush_tlb = true; /* see reset.c drop_translations */
	return 0;
}

/* The vCPU runs with the thread's signal mask but for the request timer's
 * signal, which is blocked elsewhere (see timer_setup).  KVM keeps a copy:
 * the mask of the thread when the vCPU is made, which must be the one that
 * runs it.  kvm-fpm sets its masks before it makes VMs (a worker holds
 * SIGQUIT and SIGUSR1 from its start: worker.c). */
static int set_vcpu_signal_mask(int vcpu_fd)
{
	struct {
		struct kvm_signal_mask hdr;
		uint8_t bits[8]; /* the kernel's sigset_t on x86-64 */
	} m;
	sigset_t cur;

	if (pthread_sigmask(SIG_SETMASK, NULL, &cur))
		return -errno;
	sigdelset(&cur, KC_TIMER_SIGNAL);
	m.hdr.len = sizeof(m.bits);
	memcpy(m.bits, &cur, sizeof(m.bits));
	return ioctl(vcpu_fd, KVM_SET_SIGNAL_MASK, &m) ? -errno : 0;
}

int kc_vm_open_kvm(struct kc_vm *vm, const struct kvm_sregs *sregs, char *err,
                   size_t errlen)
{
	struct kvm_sregs s = *sregs;
	uint8_t *mem = vm->mem;
	const char *what;
	void *run;

	vm->vcpu_fd = -1;
	vm->mem = NULL;
	/* A new VM backs what the allocations reach now (at a rebuild, the
	 * snapshot's: a grown slot shrinks back for free). */
	kc_slots_empty(&vm->img->lay, &vm->slots);
	kc_slots_plan(&vm->img->lay, vm->alloc.brk_high, vm->alloc.mmap_min,
	              &vm->slots);
	what = "KVM_CREATE_VM";
	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		goto fail;
	what = "KVM_SET_USER_MEMORY_REGION";
	if (kc_vm_set_memory(vm, mem))
		goto fail;
	what = "KVM_CREATE_VCPU";
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		goto fail;
	what = "mmap(kvm_run)";
	run = mmap(NULL, (size_t)run_mmap_size, PROT_READ | PROT_WRITE,
	           MAP_SHARED, vm->vcpu_fd, 0);
	if (run == MAP_FAILED)
		goto fail;
	vm->run = run;
	what = "KVM_SET_CPUID2";
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid))
		goto fail;
	/* No SMEP: the ring-0 stubs share their page with the user-mode
	 * entries (image.c maps it user-executable), so with SMEP ring 0
	 * could not run its own stubs and nothing would boot on a VMX/SVM
	 * host that has it (PVM hides SMEP from CPUID).  Ring 0 runs only
	 * those stubs and reaches user pages only through iretq/sysret. */
	if (have_xsave)
		s.cr4 |= CR4_OSXSAVE; /* for the XCR0 below to count */
	what = "KVM_SET_SREGS";
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s))
		goto fail;
	what = "KVM_SET_XCRS";
	if (have_xsave && limit_xcr0(vm->vcpu_fd))
		goto fail;
	what = "KVM_SET_MSRS";
	if (set_msrs(vm->vcpu_fd))
		goto fail;
	what = "KVM_SET_SIGNAL_MASK";
	if (set_vcpu_signal_mask(vm->vcpu_fd))
		goto fail;
	/* The reset compares the segments with the snapshot's (reset.c).
	 * Until the first exit fills them in, the synced ones are those
	 * just set: a new vCPU is in user mode (kc_vm_user_mode). */
	vm->run->kvm_valid_regs =
	    KVM_SYNC_X86_REGS | (have_sync_sregs ? KVM_SYNC_X86_SREGS : 0);
	vm->run->s.regs.sregs = s;
	return 0;
fail:
	snprintf(err, errlen, "%s failed: %s", what, strerror(errno));
	vm->mem = mem;
	kc_vm_close_kvm(vm);
	return -EIO;
}

void kc_vm_close_kvm(struct kc_vm *vm)
{
	if (vm->run)
		munmap(vm->run, (size_t)run_mmap_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->run = NULL;
	vm->vcpu_fd = vm->vm_fd = -1;
}

int kc_vm_cpl(struct kc_vm *vm)
{
	struct kvm_sregs s;

	if (vm->run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		return vm->run->s.regs.sregs.cs.selector & 3;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s))
		return -1;
	return s.cs.selector & 3;
}

int kc_vm_new(struct kc_image *img, uint8_t *mem, const struct kc_alloc *alloc,
              const struct kvm_sregs *sregs, struct kc_files *files,
              kc_output_fn *out, void *out_ctx, struct kc_vm **vmp, char *err,
              size_t errlen)
{
	struct kc_vm *vm = files ? calloc(1, sizeof(*vm)) : NULL;
	int r;

	if (vm == NULL) {
		kc_files_free(files);
		snprintf(err, errlen, "out of memory for a VM");
		return -ENOMEM;
	}
	vm->vm_fd = vm->vcpu_fd = -1; /* nothing for kc_vm_destroy to close */
	kc_image_get(img);
	vm->img = img;
	vm->mem = mem;
	vm->out = out;
	vm->out_ctx = out_ctx;
	vm->alloc = *alloc;
	vm->files = files;
	r = kc_vm_init_restore(vm);
	if (r)
		snprintf(err, errlen, "out of memory for a VM");
	else
		r = kc_vm_open_kvm(vm, sregs, err, errlen);
	if (r) {
		vm->mem = NULL; /* the caller's still */
		kc_vm_destroy(vm);
		return r;
	}
	*vmp = vm;
	return 0;
}

void kc_vm_destroy(struct kc_vm *vm)
{
	if (vm == NULL)
		return;
	kc_vm_close_kvm(vm);
	if (vm->mem)
		munmap(vm->mem, vm->img->lay.mem_size);
	kc_image_put(vm->img);
	kc_files_free(vm->files);
	free(vm->restore.bits);
	free(vm->restore.pages);
	free(vm);
}

int kc_vm_init_restore(struct kc_vm *vm)
{
	vm->restore.bits = kc_pt_page_bitmap(&vm->img->lay);
	return vm->restore.bits ? 0 : -ENOMEM;
}
