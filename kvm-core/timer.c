/* The time limit of a run and the debugger's interruption (timer.c). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kc_timer.h"
#include "kc_vm.h"

/*
 * One POSIX timer per process, aimed at the thread that runs guests.  Its
 * signal stays blocked in the thread (so a late expiry interrupts none of
 * the server's own calls) and is let through only inside KVM_RUN, by the
 * vCPU's signal mask (KVM_SET_SIGNAL_MASK): pending, it makes KVM_RUN
 * return EINTR at once, even when it came just before the call.  No
 * handler runs: the loop takes the signal off with sigtimedwait and asks
 * the clock whether the run's deadline has passed, so an expiry left from
 * an earlier run (one that ended before its limit) costs one more
 * KVM_RUN, nothing else.
 *
 * The timer is never disarmed between runs, and it is set only when it
 * would not bound the new run: a run starts after the one before it, and
 * with the same limit its deadline is later, so the earlier run's expiry,
 * still to come, ends this run's first stretch.  When it fires before
 * this run's deadline the loop sets the timer to the deadline
 * (kc_timer_signal_take).  Under load that is one timer_settime per
 * limit's length of time, not one per request.
 */
static timer_t run_timer;
static bool timer_ready;      /* in this process: timers do not survive fork */
static uint64_t run_deadline; /* CLOCK_MONOTONIC ns; 0: no limit running */
static uint64_t timer_expiry; /* when the timer fires; 0: disarmed */
static bool run_expired;      /* this run's limit ran out (and stays so) */
static struct kvm_run *volatile timer_run; /* for the debugger's signal */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

static void timer_forget(void)
{
	timer_ready = false;
	timer_expiry = 0;
}

static void timer_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, KC_TIMER_SIGNAL);
}

/* Never called: a blocked signal must have a handler all the same, or its
 * default action (and SIG_IGN drops it before KVM can see it). */
static void on_timer(int sig)
{
	(void)sig;
}

static int timer_setup(void)
{
	static bool hooked;
	struct sigaction sa;
	struct sigevent sev;
	sigset_t set;

	if (timer_ready)
		return 0;
	/* Without the hook a child would take the parent's timer for its
	 * own, and skip setting one (kc_timer_arm): no limit at all. */
	if (!hooked && pthread_atfork(NULL, NULL, timer_forget))
		return -ENOMEM;
	hooked = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sigemptyset(&sa.sa_mask);
	timer_signal_set(&set);
	if (sigaction(KC_TIMER_SIGNAL, &sa, NULL) ||
	    pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -errno;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = KC_TIMER_SIGNAL;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &run_timer))
		return -errno;
	timer_ready = true;
	timer_expiry = 0;
	return 0;
}

/* Fire at `at` (CLOCK_MONOTONIC ns), or never for 0. */
static int timer_set(uint64_t at)
{
	struct itimerspec its = {
	    .it_value = {(time_t)(at / 1000000000), (long)(at % 1000000000)},
	};

	timer_expiry = 0;
	if (timer_settime(run_timer, TIMER_ABSTIME, &its, NULL))
		return -errno;
	timer_expiry = at;
	return 0;
}

/* Take a pending expiry off, after KVM_RUN returned EINTR; when the timer
 * fired for an earlier run's deadline, set it to this run's.  0 or
 * -errno (the run must end: nothing would bound it). */
int kc_timer_signal_take(void)
{
	const struct timespec zero = {0, 0};
	sigset_t set;
	uint64_t now;

	timer_signal_set(&set);
	while (sigtimedwait(&set, NULL, &zero) == KC_TIMER_SIGNAL)
		;
	now = now_ns();
	if (run_deadline > now && timer_expiry <= now)
		return timer_set(run_deadline);
	return 0;
}

int kc_timer_arm(struct kvm_run *run, uint64_t ns)
{
	int r = timer_setup();
	uint64_t now = now_ns();

	if (r)
		return r;
	run->immediate_exit = 0;
	timer_run = run;
	run_expired = false;
	run_deadline = now + ns;
	if (timer_expiry > now && timer_expiry <= run_deadline)
		return 0; /* an earlier run's expiry bounds this one */
	return timer_set(run_deadline);
}

/* The run is over: no call, the timer may fire late (see above).  Whether
 * it ran out stays known until the next run (output is dropped then). */
void kc_timer_end(struct kvm_run *run)
{
	run_expired = kc_vm_timer_fired();
	timer_run = NULL;
	run_deadline = 0;
	run->immediate_exit = 0;
}

uint64_t kc_vm_timer_pause(void)
{
	uint64_t now = now_ns(), left;

	if (!timer_ready || run_deadline == 0)
		return 0;
	left = run_deadline > now ? run_deadline - now : 0;
	run_expired = left == 0;
	timer_set(0);
	run_deadline = 0;
	return left;
}

int kc_vm_timer_resume(struct kc_vm *vm, uint64_t left_ns)
{
	int r = 0;

	if (!run_expired)
		r = kc_timer_arm(vm->run, left_ns ? left_ns : 1);
	if (r)
		run_expired = true; /* nothing would bound the run: end it */
	if (run_expired) /* the run ends as timed out at its next entry */
		vm->run->immediate_exit = 1;
	return r;
}

bool kc_vm_timer_fired(void)
{
	return run_expired || (run_deadline != 0 && now_ns() >= run_deadline);
}

int kc_vm_timer_left_ms(void)
{
	uint64_t now = now_ns();

	if (run_deadline == 0)
		return -1;
	if (now >= run_deadline)
		return 0;
	return (int)((run_deadline - now + 999999) / 1000000);
}

/*
 * While a request runs under GDB, bytes from GDB (its ^C) or a dropped
 * connection raise KC_DEBUG_SIGNAL on this thread (O_ASYNC on the socket),
 * which makes KVM_RUN return like the timer does.
 */
static volatile sig_atomic_t debug_poked;

static void on_debug_signal(int sig)
{
	struct kvm_run *run = timer_run;

	(void)sig;
	debug_poked = 1;
	if (run)
		run->immediate_exit = 1;
}

int kc_vm_debug_signal(void)
{
	static bool hooked;
	struct sigaction sa;

	if (!hooked) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_debug_signal; /* no SA_RESTART */
		sigemptyset(&sa.sa_mask);
		if (sigaction(KC_DEBUG_SIGNAL, &sa, NULL))
			return -errno;
		hooked = true;
	}
	return KC_DEBUG_SIGNAL;
}

void kc_vm_debug_unpoke(struct kc_vm *vm)
{
	debug_poked = 0;
	/* A limit that ran out while the debugger held the VM ends the run
	 * at its next entry (kc_vm_timer_resume): keep that. */
	if (!run_expired)
		vm->run->immediate_exit = 0;
}

bool kc_timer_take_poke(void)
{
	bool poked = debug_poked;

	debug_poked = 0;
	return poked;
}
