/* The system-call layer (syscall.c) as the vCPU run loop sees it: one
 * entry for whatever call the guest stopped at. */
#ifndef KC_SYS_H
#define KC_SYS_H

struct kc_vm;

/* Continue running the guest (a handler's result). */
#define KC_RESUME (-1)

/* Handle the system call or hypercall the guest stopped at: KC_RESUME, or
 * a kc_status ending the run with vm->res filled. */
int kc_sys_handle(struct kc_vm *vm);

#endif
