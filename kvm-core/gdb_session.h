/* What the vCPU run loop (kvm.c) and the system calls (syscall.c) call in
 * the GDB session (gdb_session.c), only when vm->gdb is set. */
#ifndef KC_GDB_SESSION_H
#define KC_GDB_SESSION_H

struct kc_vm;

/* An exception the guest took: KC_RESUME or a status ending the run. */
int kc_gdb_exception(struct kc_vm *vm, unsigned vector);
/* A system call was just handled: KC_RESUME or a status. */
int kc_gdb_after_call(struct kc_vm *vm);
/* breakpoint() was called: stop once the call has returned. */
void kc_gdb_breakpoint_call(struct kc_vm *vm);
/* GDB's socket signalled while the guest ran: KC_RESUME or a status. */
int kc_gdb_poked(struct kc_vm *vm);
/* The request timer ran out: show GDB where. */
void kc_gdb_timed_out(struct kc_vm *vm);

#endif
