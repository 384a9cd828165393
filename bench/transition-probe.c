/* Transition probe: what one KVM_RUN round trip costs on this host for the
 * ways a guest can reach the host (ring-0 out, CR3 reload, user-mode ud2
 * through the IDT, syscall).  Standalone; evidence for the design notes.
 *   cc -O2 -o build/transition-probe bench/transition-probe.c &&
 * build/transition-probe
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int k;
static uint8_t *m;
static struct kvm_cpuid2 *c;
/* code: ring0 at 0x200000; user page 0x400000 (U); IDT vec6 -> 0x201000 */
static double run(const char *name, const uint8_t *r0, size_t n0,
                  const uint8_t *ud, size_t nud, const uint8_t *u, size_t nu)
{
	int vm = ioctl(k, KVM_CREATE_VM, 0);
	size_t sz = 8 << 20;
	m = mmap(0, sz, 3, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region r = {0, 0, 0, sz, (uintptr_t)m};
	ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
	int v = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run =
	    mmap(0, ioctl(k, KVM_GET_VCPU_MMAP_SIZE, 0), 3, MAP_SHARED, v, 0);
	ioctl(v, KVM_SET_CPUID2, c);
	uint64_t *pml4 = (void *)(m + 0x10000), *pdpt = (void *)(m + 0x11000),
	         *pd = (void *)(m + 0x12000), *pt0 = (void *)(m + 0x13000),
	         *pt1 = (void *)(m + 0x14000), *pt2 = (void *)(m + 0x15000);
	pml4[0] = 0x11000 | 7;
	pdpt[0] = 0x12000 | 7;
	pd[0] = 0x13000 | 7;
	pd[1] = 0x14000 | 7;
	pd[2] = 0x15000 | 7;
	for (int i = 1; i < 512; i++)
		pt0[i] = (i << 12) | 3; /* supervisor */
	for (int i = 0; i < 512; i++)
		pt1[i] = (0x200000 + (i << 12)) | 3;
	for (int i = 0; i < 512; i++)
		pt2[i] = (0x400000 + (i << 12)) | 7; /* user */
	uint64_t *gdt = (void *)(m + 0x1000);
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00cff3000000ffffULL;
	gdt[4] = 0x00affb000000ffffULL;
	uint64_t base = 0x3000;
	gdt[5] = 0x67 | ((base & 0xffffff) << 16) | (0x8bULL << 40);
	gdt[6] = 0;
	uint8_t *tss = m + 0x3000;
	*(uint64_t *)(tss + 4) = 0x9000;
	*(uint64_t *)(tss + 36) = 0x9000;
	*(uint16_t *)(tss + 102) = 104;
	uint64_t *idt = (void *)(m + 0x2000);
	uint64_t off = 0x201000;
	idt[12] = (off & 0xffff) | (8ULL << 16) | (1ULL << 32) |
	          (0x8eULL << 40) | (((off >> 16) & 0xffff) << 48);
	idt[13] = 0;
	memcpy(m + 0x200000, r0, n0);
	if (ud)
		memcpy(m + 0x201000, ud, nud);
	if (u)
		memcpy(m + 0x400000, u, nu);
	struct kvm_sregs s;
	ioctl(v, KVM_GET_SREGS, &s);
	struct kvm_segment cs = {0, 0xffffffff, 8, 11, 1, 0, 0,
	                         1, 1,          1, 0,  0, 0},
	                   ds = {0, 0xffffffff, 0x10, 3, 1, 0, 1,
	                         0, 1,          1,    0, 0, 0};
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = 0x1000;
	s.gdt.limit = 7 * 8 - 1;
	s.idt.base = 0x2000;
	s.idt.limit = 32 * 16 - 1;
	s.cr0 = 0x80050033;
	s.cr3 = 0x10000;
	s.cr4 = 0x620;
	s.efer = 0xd01;
	s.tr.selector = 0x28;
	s.tr.base = 0x3000;
	s.tr.limit = 0x67;
	s.tr.type = 11;
	s.tr.present = 1;
	ioctl(v, KVM_SET_SREGS, &s);
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} ms;
	memset(&ms, 0, sizeof ms);
	ms.h.nmsrs = 3;
	ms.e[0].index = 0xc0000081;
	ms.e[0].data = (0x13ULL << 48) | (0x08ULL << 32);
	ms.e[1].index = 0xc0000082;
	ms.e[1].data = 0x400800;
	ms.e[2].index = 0xc0000084;
	ms.e[2].data = 0x47700;
	ioctl(v, KVM_SET_MSRS, &ms);
	struct kvm_regs rg;
	memset(&rg, 0, sizeof rg);
	rg.rip = 0x200000;
	rg.rflags = 2;
	rg.rsp = 0x8000;
	rg.rcx = 0x400000;
	rg.r11 = 0x202;
	ioctl(v, KVM_SET_REGS, &rg);
	for (int i = 0; i < 50; i++)
		ioctl(v, KVM_RUN, 0);
	int N = 5000;
	double a = now();
	for (int i = 0; i < N; i++) {
		ioctl(v, KVM_RUN, 0);
	}
	double b = now();
	ioctl(v, KVM_GET_REGS, &rg);
	printf("%-34s %7.2f us  (exit %d port %x rip %llx)\n", name,
	       (b - a) / N, run->exit_reason, run->io.port,
	       (unsigned long long)rg.rip);
	close(v);
	close(vm);
	munmap(m, sz);
	return (b - a) / N;
}
int main()
{
	k = open("/dev/kvm", O_RDWR);
	c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	c->nent = 256;
	ioctl(k, KVM_GET_SUPPORTED_CPUID, c);
	uint8_t A[] = {0xe6, 0x60, 0xeb, 0xfc};
	run("ring0 out (floor)", A, sizeof A, 0, 0, 0, 0);
	uint8_t B[] = {0x0f, 0x20, 0xd8, 0x0f, 0x22,
	               0xd8, 0xe6, 0x60, 0xeb, 0xf6};
	run("ring0 cr3 reload + out", B, sizeof B, 0, 0, 0, 0);
	/* ring0: sysretq; user: ud2 ; #UD handler: out; add $? iretq to user
	 * 0x400000 */
	uint8_t C0[] = {0x48, 0x0f, 0x07};
	uint8_t Cu[] = {0x0f, 0x0b};
	uint8_t Cud[] = {0xe6, 0x60, 0x48,
	                 0xcf}; /* out; iretq (rip same ud2 -> loop) */
	run("user ud2 -> #UD ring0 out -> iretq", C0, sizeof C0, Cud,
	    sizeof Cud, Cu, sizeof Cu);
	/* user: syscall -> LSTAR 0x400800 (user page) ud2 */
	uint8_t Du[0x802];
	memset(Du, 0x90, sizeof Du);
	Du[0] = 0x0f;
	Du[1] = 0x05;
	Du[0x800] = 0x0f;
	Du[0x801] = 0x0b;
	uint8_t Dud[] = {
	    0xe6, 0x60, 0x48, 0xc7, 0x04, 0x24, 0x00,
	    0x00, 0x40, 0x00, 0x48, 0xcf}; /* out; movq $0x400000,(%rsp); iretq
	                                    */
	run("user syscall->ud2->#UD out->iretq", C0, sizeof C0, Dud, sizeof Dud,
	    Du, sizeof Du);
	/* ring0 loop: sysret to user, user ud2 → #UD handler: out, then set rcx
	 * and sysretq back */
	uint8_t Eud[] = {0xe6, 0x60, 0x48, 0x0f,
	                 0x07}; /* out; sysretq (rcx=0x400000) */
	run("user ud2 -> #UD out -> sysretq", C0, sizeof C0, Eud, sizeof Eud,
	    Cu, sizeof Cu);
}
