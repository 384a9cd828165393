/* Guest memory access (gmem.c): the one checked translation from guest
 * addresses to host pointers, and the one check for the frames on the
 * ring-0 exception stack.  Pure: no KVM. */
#ifndef KC_GMEM_H
#define KC_GMEM_H

#include <stddef.h>
#include <stdint.h>

struct kc_layout;

#define KC_GMEM_WRITE 1
#define KC_GMEM_DEBUG 2 /* a debugger's write: read-only pages too */

/*
 * Host pointer to guest range [gva, gva + len), or NULL when any page of it
 * is not mapped user-accessible (and writable, with KC_GMEM_WRITE).  A write
 * mapping marks the pages dirty so that the reset restores them.
 * KC_GMEM_DEBUG is a write that may also land on read-only pages (a
 * debugger's breakpoints in code): dirty-marked the same way.
 */
void *kc_gmem(uint8_t *mem, const struct kc_layout *lay, uint64_t gva,
              uint64_t len, int flags);

/*
 * Host pointer to [rsp, rsp + len) of the ring-0 exception stack, where
 * the stubs leave a fault's frame, or NULL when any of it is
 * outside that stack: rsp comes from the guest's registers (and, in user
 * mode, from the tenant), so it is never used unchecked.  kc_gmem refuses
 * these pages (supervisor only).
 */
void *kc_gmem_ist(uint8_t *mem, uint64_t rsp, uint64_t len);

/*
 * The iretq frame (KC_FRAME_* slots) of the exception stub for vector
 * whose stack pointer is rsp: past the error code the CPU pushes for some
 * vectors, which goes to *err when err is not NULL (0 for the others).
 * NULL when any of
 * it lies outside the exception stack (kc_gmem_ist).
 */
uint64_t *kc_gmem_exc_frame(uint8_t *mem, uint64_t rsp, unsigned vector,
                            uint64_t *err);

/* Like kc_gmem for a NUL-terminated string of at most max bytes. */
const char *kc_gmem_str(uint8_t *mem, const struct kc_layout *lay, uint64_t gva,
                        size_t max, size_t *len);

#endif
