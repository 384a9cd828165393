/* Every request starts from the snapshot's CPU state and address space,
 * whatever the request before it on the same VM left behind. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "guest.h"
#include "kc_result.h"
#include "kc_vm.h"

#define P(name) "build/programs/" name

/* What a request finds on a fresh VM: default control words, empty FPU
 * and SSE registers, IF alone of the system flags, musl's thread pointer. */
#define CLEAN_STATE_TAIL                                                       \
	"tcb=snapshot rflags=0x200 fcw=0x37f fsw=0 ftw=0 mxcsr=0x1f80 "        \
	"st=clear xmm=clear\n"

static void expect(struct guest *g, const char *url, enum kc_status st)
{
	cr_assert_eq(guest_get(g, url), st, "%s: got %s (%s)", url,
	             kc_status_name(g->res.status), g->res.error);
}

/* An instruction that is an invalid opcode on VMX/SVM (kvm-core leaves
 * CR4.FSGSBASE clear) but may run under PVM, where user code runs with
 * the host's CR4: the spoiling request may end either way. */
#define OK_OR_INVALID_OPCODE KC_STATUS_MAX

static void clean_after(const char *spoil, enum kc_status spoil_status,
                        const char *spoil_error)
{
	char fresh[512];
	struct guest g;
	enum kc_status st;

	guest_boot(&g, P("cpu_state"), NULL);
	expect(&g, "/", KC_OK);
	snprintf(fresh, sizeof(fresh), "%s", guest_body(&g));
	cr_assert(strstr(fresh, CLEAN_STATE_TAIL), "fresh VM: %s", fresh);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	st = guest_get(&g, spoil);
	if (spoil_status == OK_OR_INVALID_OPCODE) {
		spoil_status = st == KC_OK ? KC_OK : KC_ERR_FAULT;
		spoil_error = st == KC_OK ? "" : "invalid opcode";
	}
	cr_assert_eq(st, spoil_status, "%s: got %s (%s)", spoil,
	             kc_status_name(st), g.res.error);
	cr_assert(strstr(g.res.error, spoil_error), "%s: error '%s'", spoil,
	          g.res.error);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/", KC_OK);
	cr_assert_str_eq(guest_body(&g), fresh, "after %s", spoil);
	guest_free(&g);
}

Test(vcpu_state, segment_selectors_come_back)
{
	clean_after("/segments", KC_OK, "");
}

Test(vcpu_state, fs_base_set_by_arch_prctl_comes_back)
{
	clean_after("/fs-base", KC_OK, "");
}

Test(vcpu_state, direction_and_alignment_flags_come_back)
{
	clean_after("/flags", KC_OK, "");
}

Test(vcpu_state, trap_flag_ends_only_its_request)
{
	clean_after("/trap-flag", KC_ERR_FAULT, "debug exception");
}

/* An invalid opcode (CR4.FSGSBASE clear) or, where user code runs with
 * the host's CR4 (PVM), a new FS base: either way the next request finds
 * the snapshot's. */
Test(vcpu_state, fs_base_set_by_wrfsbase_comes_back)
{
	clean_after("/wrfsbase", OK_OR_INVALID_OPCODE, "");
}

/* The x87 last-instruction and -operand pointers too (in the report):
 * AMD CPUs before Zen 2 keep them through fxrstor unless the entry
 * loads its own first.  No CPU here is one of those. */
Test(vcpu_state, fpu_control_words_registers_and_last_pointers_come_back)
{
	clean_after("/fpu", KC_OK, "");
}

/* The entry's x87 load cannot meet an exception the request before left
 * pending (it would raise #MF in the next request's entry). */
Test(vcpu_state, x87_exception_left_pending_ends_with_its_request)
{
	clean_after("/x87-pending", KC_OK, "");
}

/* Where wrgsbase runs (PVM), the GS base a request wrote is gone for the
 * next, which reads the fresh VM's; elsewhere both are invalid opcodes. */
Test(vcpu_state, gs_base_set_by_wrgsbase_comes_back)
{
	char fresh[64] = "";
	enum kc_status st;
	struct guest g;

	guest_boot(&g, P("cpu_state"), NULL);
	st = guest_get(&g, "/gs-base");
	if (st == KC_OK)
		snprintf(fresh, sizeof(fresh), "%s", guest_body(&g));
	else
		cr_assert(strstr(g.res.error, "invalid opcode"), "%s",
		          g.res.error);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/wrgsbase", st);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/gs-base", st);
	if (st == KC_OK)
		cr_assert_str_eq(guest_body(&g), fresh);
	guest_free(&g);
	clean_after("/wrgsbase", OK_OR_INVALID_OPCODE, "");
}

/* XCR0 enables x87 and SSE only, on every host (under PVM user code runs
 * with the host's CR4): AVX is an invalid opcode, so no YMM upper halves
 * can carry a request's secrets to the next. */
Test(vcpu_state, avx_is_not_available)
{
	clean_after("/avx", KC_ERR_FAULT, "invalid opcode");
}

/* A page one request mapped (mmap or brk) is gone for the next: reading
 * it faults instead of finding the page, zeroed or not. */
static void unmapped_after(const char *map)
{
	char url[64], want[96];
	unsigned long addr;
	struct guest g;

	guest_boot(&g, P("mapped_page"), NULL);
	expect(&g, map, KC_OK);
	cr_assert_eq(sscanf(guest_body(&g), "%lx", &addr), 1);
	cr_assert_neq(addr, 0, "%s failed", map);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	snprintf(url, sizeof(url), "/read/%lx", addr);
	expect(&g, url, KC_ERR_FAULT);
	snprintf(want, sizeof(want), "page fault (not mapped) reading %#lx ",
	         addr);
	cr_assert(strstr(g.res.error, want), "%s", g.res.error);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/", KC_OK);
	cr_assert_str_eq(guest_body(&g), "main m\n");
	guest_free(&g);
}

Test(vcpu_state, mmap_page_is_unmapped_after_reset)
{
	unmapped_after("/mmap");
}

Test(vcpu_state, brk_page_is_unmapped_after_reset)
{
	unmapped_after("/brk");
}

/* After every kind of call user code has the flags it set itself (CF DF
 * AC here) and IF, never IOPL, NT, RF, VIF or VIP, even when it forged
 * them on the direct call path; and so no I/O port. */
Test(vcpu_state, calls_return_without_iopl_or_nt)
{
	struct guest g;

	guest_boot(&g, P("call_flags"), NULL);
	expect(&g, "/syscall", KC_OK);
	cr_assert_str_eq(guest_body(&g), "flags=0x40601\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/direct", KC_OK);
	cr_assert_str_eq(guest_body(&g), "flags=0x40601\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/direct-out", KC_ERR_FAULT);
	cr_assert(strstr(g.res.error, "general protection fault"), "%s",
	          g.res.error);
	guest_free(&g);
}

/* An exit that cuts an event's delivery short (a timer tick between a
 * call's ud2 and its #UD handler) leaves the event queued in KVM for the
 * next KVM_RUN.  A request stopped by its time limit must not hand such
 * an event to the next one: here the half-delivered #UD is queued with
 * KVM_SET_VCPU_EVENTS after the timeout, where the race would leave it
 * (it was seen once in the emulated VM, as a "fault" of a request that
 * only wrote in a loop). */
Test(vcpu_state, event_cut_short_by_a_timeout_is_dropped)
{
	struct kvm_vcpu_events ev;
	struct kc_limits lim;
	struct guest g;

	guest_limits_default(&lim);
	lim.max_request_time_ns = 100000000; /* /spin never ends */
	guest_boot(&g, P("cpu_state"), &lim);
	expect(&g, "/spin", KC_ERR_TIMEOUT);
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 6; /* #UD */
	cr_assert_eq(ioctl(g.vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev), 0);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	expect(&g, "/", KC_OK);
	cr_assert(strstr(guest_body(&g), CLEAN_STATE_TAIL), "%s",
	          guest_body(&g));
	guest_free(&g);
}

/* The request timer is armed once per run and never disarmed (timer.c): an
 * expiry left from a run that ended before its limit must end no later
 * run, and interrupt no call the thread makes between runs. */
Test(vcpu_state, a_late_expiry_ends_nothing)
{
	struct timespec nap = {0, 500000000}; /* past the 200 ms limit */
	struct kc_limits lim;
	struct guest g;

	guest_limits_default(&lim);
	lim.max_request_time_ns = 200000000; /* not scaled: "/" needs ~1 ms */
	guest_boot(&g, P("cpu_state"), &lim);
	expect(&g, "/", KC_OK);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	/* The timer fires in here: nothing may break the sleep. */
	cr_assert_eq(nanosleep(&nap, &nap), 0, "sleep broken: %s",
	             strerror(errno));
	expect(&g, "/", KC_OK);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	/* And the limit still holds for a run that needs it. */
	expect(&g, "/spin", KC_ERR_TIMEOUT);
	guest_free(&g);
}

/* READY made with the syscall instruction stops, on VMX/SVM, in ring 0:
 * every request must start in user mode all the same, the first one on
 * the VM that booted the program too (it is handed over without a
 * reset). */
Test(vcpu_state, requests_start_in_user_mode_after_a_ready_from_ring_0)
{
	struct guest g;
	int i;

	guest_boot(&g, P("ready_syscall"), NULL);
	for (i = 0; i < 3; i++) {
		expect(&g, "/", KC_OK);
		cr_assert_str_eq(guest_body(&g), "cpl=3\n", "request %d", i);
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	guest_free(&g);
}
