/* A kc_vm over plain memory with no KVM behind it, for unit tests of the
 * host handlers (system calls, hypercalls, guest output), which reach
 * guest memory only through kc_gmem. */
#ifndef FAKE_VM_H
#define FAKE_VM_H

#include <stdint.h>

struct kc_vm;
struct kc_image;

/*
 * Zero *vm and *img, lay out a 16 MiB guest with a 1 MiB stack for a
 * program ending at program_hi, and give vm zeroed memory (free it with
 * free(vm->mem)) with empty page tables.  *pt_next is where fake_vm_map()
 * takes page tables from.  Fails the test on error.
 */
void fake_vm_init(struct kc_vm *vm, struct kc_image *img, uint64_t program_hi,
                  uint64_t *pt_next);

/* Map [addr, addr + len) with flags (KC_PTE_*) in vm's page tables. */
void fake_vm_map(struct kc_vm *vm, uint64_t *pt_next, uint64_t addr,
                 uint64_t len, uint64_t flags);

#endif
