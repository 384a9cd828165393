/* The KVM side of a VM (kvm.c): the KVM VM and vCPU, its memory slots,
 * the vCPU run loop and the timer that bounds a run. */
#ifndef KC_KVM_H
#define KC_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc.h"

struct kc_vm;
struct kvm_sregs;

/* KVM takes vCPU events (KVM_SYNC_X86_EVENTS) with the next KVM_RUN. */
bool kc_kvm_sync_events(void);

/* Create the KVM VM and vCPU for vm->mem with sregs.  0 or -errno. */
int kc_vm_open_kvm(struct kc_vm *vm, const struct kvm_sregs *sregs, char *err,
                   size_t errlen);
/* Close them (those that are open: -1 fds are not). */
void kc_vm_close_kvm(struct kc_vm *vm);

/* Point the guest's memory slots at a new host mapping.  0 or -errno. */
int kc_vm_set_memory(struct kc_vm *vm, uint8_t *mem);

/* Grow the memory slots when vm->alloc has gone beyond them: called
 * after mapping fresh pages, before the guest can touch them.  0, or
 * -errno with vm->broken set (a slot may be gone: rebuild the VM). */
int kc_vm_grow_memory(struct kc_vm *vm);

/* Run the guest from its current registers until it ends the phase
 * (READY while booting, a response or an error otherwise). */
enum kc_status kc_vm_run(struct kc_vm *vm, uint64_t limit_ns);

/* The privilege level the vCPU stopped at (0 or 3), or -1 when KVM
 * cannot say.  Free when KVM syncs the segments at every exit. */
int kc_vm_cpl(struct kc_vm *vm);

/* Set up the vCPU registers to enter user code at rip with rsp and rdi,
 * through the stubs' user-mode entry (the vCPU must be in user mode). */
void kc_vm_enter_user(struct kc_vm *vm, uint64_t rip, uint64_t rsp,
                      uint64_t rdi);

/* The request timer, paused while a debugger holds the VM: the time left
 * (0 when it already fired); resume re-arms it unless it fired. */
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
