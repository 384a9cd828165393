/* The time limit of a run, and a debugger's interruption of it
 * (timer.c). */
#ifndef KC_TIMER_H
#define KC_TIMER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct kc_vm;
struct kvm_run;

/* The request timer's signal: blocked in the thread, let through by the
 * vCPU's signal mask inside KVM_RUN only (kvm.c sets that mask). */
#define KC_TIMER_SIGNAL (SIGRTMIN + 1)
/* Raised by a debugger's socket (O_ASYNC, gdb/gdb_session.c). */
#define KC_DEBUG_SIGNAL (SIGRTMIN + 2)

/* Start a run's limit of ns on the vCPU's run; 0 or -errno.  The timer
 * is set only when no earlier run's expiry comes first. */
int kc_timer_arm(struct kvm_run *run, uint64_t ns);
/* The run is over (the timer is left to fire late, harmlessly). */
void kc_timer_end(struct kvm_run *run);
/* Take a pending expiry signal off, after KVM_RUN returned EINTR, and
 * set the timer to the run's deadline when it fired for an earlier run's
 * (kc_timer_arm leaves an earlier expiry that comes first): 0 or -errno. */
int kc_timer_signal_take(void);
/* Whether the debugger's signal came since the last call. */
bool kc_timer_take_poke(void);

/* The request timer, paused while a debugger holds the VM: the time left
 * (0 when it already fired); resume re-arms it unless it fired.  Where it
 * fired, or cannot be re-armed (-errno), the run ends at its next entry,
 * as timed out. */
uint64_t kc_vm_timer_pause(void);
int kc_vm_timer_resume(struct kc_vm *vm, uint64_t left_ns);
bool kc_vm_timer_fired(void);

/* Milliseconds (rounded up) until the running limit runs out: 0 when it
 * has, -1 when none is running (paused, or between runs). */
int kc_vm_timer_left_ms(void);

/* The signal a debugger's socket raises to interrupt KVM_RUN (installed
 * on first use), or -errno; and forgetting it once GDB was served. */
int kc_vm_debug_signal(void);
void kc_vm_debug_unpoke(struct kc_vm *vm);

#endif
