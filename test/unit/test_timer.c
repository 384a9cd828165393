/* The request timer (kvm-core/timer.c) without a VM: what a debugger's stop
 * does to it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>

#include <linux/kvm.h>

#include "kc_kvm.h"
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
