/* The KVM side of a VM (kvm.c): the KVM VM and vCPU, their memory
 * slots, and the one constructor of a struct kc_vm. */
#ifndef KC_KVM_H
#define KC_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc.h"

struct kc_vm;
struct kc_alloc;
struct kc_files;
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

/* The privilege level the vCPU stopped at (0 or 3), or -1 when KVM
 * cannot say.  Free when KVM syncs the segments at every exit. */
int kc_vm_cpl(struct kc_vm *vm);

/*
 * The one constructor of a VM: on img (a new reference), guest memory at
 * the host view mem, allocations as in alloc, the file table files, and a
 * KVM VM and vCPU with sregs.  Takes files over, also on failure.  On
 * success kc_vm_destroy() unmaps mem (set vm->mem to NULL to keep it);
 * on failure the caller still owns it.  0 or -errno, reason in err.
 */
int kc_vm_new(struct kc_image *img, uint8_t *mem, const struct kc_alloc *alloc,
              const struct kvm_sregs *sregs, struct kc_files *files,
              kc_output_fn *out, void *out_ctx, struct kc_vm **vmp, char *err,
              size_t errlen);

/* Allocate the VM's restore list.  0 or -ENOMEM. */
int kc_vm_init_restore(struct kc_vm *vm);

#endif
