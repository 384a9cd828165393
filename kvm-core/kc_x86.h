/* x86-64 system structures for a guest (x86.c): GDT, IDT, TSS, stubs and
 * the rules for what user mode may carry.  Pure data builders: KVM's
 * register structs appear only as pointers, so this header needs no KVM
 * header (x86.c fills them). */
#ifndef KC_X86_H
#define KC_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "x86_defs.h"

struct kc_layout;
struct kvm_sregs;

/* Write GDT, IDT, TSS, stubs and the initial FXSAVE image into mem. */
void kc_x86_build_system(uint8_t *mem);

/* Special registers for a guest in user mode (CPL 3) with these page
 * tables: what the host enters every request with. */
void kc_x86_sregs(struct kvm_sregs *s, const struct kc_layout *lay);

/* Make s's segments user mode's, keeping the FS and GS bases (the
 * snapshot of a program that made its last call from ring 0). */
void kc_x86_user_segments(struct kvm_sregs *s);

/* The RFLAGS a return to user mode may carry when the guest asked for
 * rflags (KC_RFLAGS_USER_KEEP and _SET in x86_defs.h). */
uint64_t kc_x86_user_rflags(uint64_t rflags);

/*
 * Does now (the vCPU at an exit) differ from snap (the snapshot's, in
 * user mode) in segment state a request could leave behind?  That is DS,
 * ES, FS, GS in full (user code loads selectors, arch_prctl sets the FS
 * base) and the CS and SS selectors (an exit from ring 0: a fault, a
 * syscall under VMX/SVM, a stop in the stubs).  The rest only ring 0
 * could change.
 */
bool kc_x86_user_segments_differ(const struct kvm_sregs *now,
                                 const struct kvm_sregs *snap);

/* Does the CPU push an error code below the iretq frame for vector? */
static inline bool kc_x86_has_error_code(unsigned vector)
{
	return vector < 32 && (KC_VECTORS_WITH_ERROR_CODE >> vector) & 1;
}

#endif
