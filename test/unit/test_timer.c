/* The request timer (kvm-core/timer.c) without a VM: what a debugger's stop
 * does to it. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <linux/kvm.h>

#include "kc_kvm.h"
#include "kc_run.h"
#include "kc_timer.h"
#include "kc_vm.h"

/* The limit runs out while a debugger holds the VM (after its ^C, before
 * the timer is paused): the run must end at its next entry, even once the
 * debugger's poke is forgotten. */
Test(timer, a_limit_that_ran_out_in_a_stop_ends_the_run)
{
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct timespec ms = {0, 1000000};
	struct kc_vm vm = {.run = run};

	cr_assert_not_null(run);
	cr_assert_eq(kc_vm_timer_resume(&vm, 1), 0); /* 1 ns left */
	nanosleep(&ms, NULL);
	cr_assert_eq(kc_vm_timer_pause(), 0, "no time should be left");
	cr_assert(kc_vm_timer_fired());
	cr_assert_eq(kc_vm_timer_resume(&vm, 0), 0);
	kc_vm_debug_unpoke(&vm);
	cr_assert_eq(run->immediate_exit, 1, "the run would go on unbounded");
	free(run);
}

/* A run whose limit starts while an earlier run's expiry is still to come
 * sets no timer of its own: that expiry comes first.  Taken before the
 * run's deadline, it sets the timer to the deadline, so that the run
 * stays bounded.  (The earlier expiry at 400 ms, this run's deadline at
 * about 600 ms.) */
Test(timer, an_earlier_runs_expiry_is_moved_to_this_runs_deadline)
{
	struct kvm_run *run = calloc(1, sizeof(*run));
	const uint64_t limit = 400 * 1000 * 1000;
	struct timespec gap = {0, 200 * 1000 * 1000}, wait = {2, 0};
	sigset_t set;

	cr_assert_not_null(run);
	sigemptyset(&set);
	sigaddset(&set, KC_TIMER_SIGNAL);
	cr_assert_eq(kc_timer_arm(run, limit), 0);
	kc_timer_end(run);
	nanosleep(&gap, NULL);
	cr_assert_eq(kc_timer_arm(run, limit), 0);
	cr_assert_eq(sigtimedwait(&set, NULL, &wait), KC_TIMER_SIGNAL);
	cr_assert(!kc_vm_timer_fired(),
	          "the run set a timer of its own: the earlier expiry was "
	          "still to come");
	cr_assert_eq(kc_timer_signal_take(), 0);
	cr_assert_eq(sigtimedwait(&set, NULL, &wait), KC_TIMER_SIGNAL,
	             "nothing bounds the run after the earlier expiry");
	cr_assert(kc_vm_timer_fired());
	kc_timer_end(run);
	free(run);
}

/* No timer can be made: a POSIX timer holds a queued signal, counted
 * against RLIMIT_SIGPENDING (root too).  Each test runs in a process of
 * its own, whose timer is not made yet. */
static void no_timer_can_be_made(void)
{
	struct rlimit none = {0, 0};

	cr_assert_eq(setrlimit(RLIMIT_SIGPENDING, &none), 0);
}

/* The request is in guest memory before the run starts: a run that
 * cannot start still leaves the VM for the reset, or the next request
 * would find this one's bytes past its own. */
Test(timer, a_run_whose_timer_fails_leaves_the_vm_to_be_reset)
{
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct kc_result res = {0};
	struct kc_vm vm = {.run = run, .res = &res, .vcpu_fd = -1};

	cr_assert_not_null(run);
	no_timer_can_be_made();
	cr_assert_eq(kc_vm_run(&vm, 1000 * 1000), KC_ERR_INTERNAL);
	cr_assert(strstr(res.error, "timer"), "%s", res.error);
	cr_assert(vm.dirty, "the reset would skip this VM");
	free(run);
}

/* A debugger's resume that cannot set the timer ends the run at its next
 * entry, as timed out: it must not go on unbounded. */
Test(timer, a_resume_whose_timer_fails_ends_the_run)
{
	struct kvm_run *run = calloc(1, sizeof(*run));
	struct kc_vm vm = {.run = run};

	cr_assert_not_null(run);
	no_timer_can_be_made();
	cr_assert_lt(kc_vm_timer_resume(&vm, 1000 * 1000), 0);
	cr_assert_eq(run->immediate_exit, 1, "the run would go on unbounded");
	cr_assert(kc_vm_timer_fired());
	free(run);
}
