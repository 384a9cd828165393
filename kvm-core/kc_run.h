/* The vCPU run loop (run.c). */
#ifndef KC_RUN_H
#define KC_RUN_H

#include <stdint.h>

#include "kc.h"

struct kc_vm;

/* Run the guest from its current registers until it ends the phase
 * (READY while booting, a response or an error otherwise). */
enum kc_status kc_vm_run(struct kc_vm *vm, uint64_t limit_ns);

/* Set up the vCPU registers to enter user code at rip with rsp and rdi,
 * through the stubs' user-mode entry (the vCPU must be in user mode). */
void kc_vm_enter_user(struct kc_vm *vm, uint64_t rip, uint64_t rsp,
                      uint64_t rdi);

#endif
