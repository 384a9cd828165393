/* How a run ends and what the guest wrote (result.c). */
#ifndef KC_RESULT_H
#define KC_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "kc.h"

struct kc_vm;

/* Fill vm->res with an error and return status. */
__attribute__((format(printf, 3, 4))) enum kc_status
kc_vm_fail(struct kc_vm *vm, enum kc_status status, const char *fmt, ...);

/* Describe an exception the guest took into vm->res; KC_ERR_FAULT. */
enum kc_status kc_vm_fault(struct kc_vm *vm, unsigned vector);

/*
 * Pass guest output on as lines, charged to max_log_size; flush what is
 * left at the end of a run (which starts the next run's budget).  Work is
 * bounded by the budget left: callers hand at most kc_vm_output_room()
 * bytes and call kc_vm_output_cut() for whatever they drop beyond it.
 * Nothing more is passed on once the run's timer has fired.
 */
void kc_vm_output(struct kc_vm *vm, int fd, const char *p, size_t len);
uint64_t kc_vm_output_room(const struct kc_vm *vm);
void kc_vm_output_cut(struct kc_vm *vm);
void kc_vm_output_flush(struct kc_vm *vm);

/* Bytes the current request allocated beyond the snapshot. */
uint64_t kc_vm_charged(const struct kc_vm *vm);

#endif
