/* Between requests: the reset to the snapshot (kc_vm_reset, kc.h), and
 * the user-mode entry every request starts from (reset.c). */
#ifndef KC_RESET_H
#define KC_RESET_H

struct kc_vm;

/* Make the next entry one in user mode: a VM that last stopped anywhere
 * else (in ring 0, handed over without a reset) gets the snapshot's
 * segments with it (reset.c).  Free when the vCPU is in user mode.  0 or
 * -errno. */
int kc_vm_user_mode(struct kc_vm *vm);

#endif
