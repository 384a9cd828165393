/* Where everything sits in guest memory (layout.c), and the memory slots
 * KVM backs of it.  Pure arithmetic: no KVM. */
#ifndef KC_LAYOUT_H
#define KC_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86_defs.h"

struct kc_limits;
struct kc_elf_plan;

#define KC_PAGE_MASK  (~(uint64_t)(KC_PAGE_SIZE - 1))
#define KC_PAGE_UP(x) (((x) + KC_PAGE_SIZE - 1) & KC_PAGE_MASK)
#define KC_MAX_MEMORY (64ULL << 30)
_Static_assert(KC_CALL_GPA >= KC_MAX_MEMORY,
               "the call page lies beyond all guest memory");
#define KC_MIN_MEMORY   (16ULL << 20)
#define KC_STACK_GUARD  (64 * 1024) /* unmapped below the stack */
#define KC_REQ_HEADROOM (64 * 1024) /* request area beyond the body */

struct kc_layout {
	uint64_t mem_size;
	uint64_t heap_base;    /* first page after the program */
	uint64_t mmap_top;     /* anonymous mappings grow down from here */
	uint64_t stack_bottom; /* KC_STACK_GUARD below it stays unmapped */
	uint64_t stack_top;
	uint64_t req_base; /* request area: read-only to the guest */
	uint64_t req_size;
	uint64_t pt_base;  /* page tables: PML4, PDPT, PDs, then PTs */
	uint64_t pt_end;   /* == mem_size */
	uint32_t pd_count; /* one page directory per GiB */
};

#define KC_PML4(l)    ((l)->pt_base)
#define KC_PDPT(l)    ((l)->pt_base + KC_PAGE_SIZE)
#define KC_PD(l, i)   ((l)->pt_base + (2 + (uint64_t)(i)) * KC_PAGE_SIZE)
#define KC_PT_POOL(l) KC_PD(l, (l)->pd_count)

/* Place everything for lim and plan.  0, -EINVAL (bad limits) or -EFBIG
 * (the program does not fit), with the reason in err. */
int kc_layout_compute(const struct kc_limits *lim,
                      const struct kc_elf_plan *plan, struct kc_layout *lay,
                      char *err, size_t errlen);

/*
 * The guest-physical memory KVM backs: two memory slots, not one over all
 * of max_memory, because KVM's per-slot metadata (about 2.5 KiB per MiB
 * under shadow paging) scales with the slots.  Slot 0 is [0, low_end): the
 * system pages, the program and the heap.  Slot 1 is [high_start,
 * mem_size): the mmap area, the stack, the request area and the page
 * tables.  They never overlap; low_end == high_start covers everything.
 * Both map the same host view at the same offset.
 */
#define KC_SLOT_ALIGN    (2ULL << 20)
#define KC_SLOT_HEADROOM (2ULL << 20) /* beyond the allocations, per side */

struct kc_slots {
	uint64_t low_end;
	uint64_t high_start;
};

/* Slots with nothing in them yet: the start for kc_slots_plan. */
void kc_slots_empty(const struct kc_layout *lay, struct kc_slots *s);

/* Do the slots back [0, brk_high) and [mmap_min, mem_size)? */
static inline bool kc_slots_cover(const struct kc_slots *s, uint64_t brk_high,
                                  uint64_t mmap_min)
{
	return s->low_end >= s->high_start ||
	       (brk_high <= s->low_end && mmap_min >= s->high_start);
}

/*
 * Grow the slots *s so that they cover [0, brk_high) and [mmap_min,
 * mem_size) (brk_high <= mmap_min <= mmap_top), with headroom.  A side that
 * grows at least doubles, so a VM regrows a slot a few times at most.
 * Never shrinks a slot, never makes them overlap or leaves one empty.
 * Pure arithmetic.
 */
void kc_slots_plan(const struct kc_layout *lay, uint64_t brk_high,
                   uint64_t mmap_min, struct kc_slots *s);

#endif
