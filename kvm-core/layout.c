/* Where a tenant's program, heap, stack, request area and page tables sit
 * in its guest memory.  Pure arithmetic over the limits and the ELF plan. */
#include <errno.h>
#include <stdio.h>

#include "kc.h"
#include "kc_elf.h"
#include "kc_layout.h"

#define GIB  (1ULL << 30)
#define MIB2 (2ULL << 20)

void kc_limits_default(struct kc_limits *l)
{
	l->max_memory = 256ULL << 20;
	l->max_request_memory = 64ULL << 20;
	l->max_response_size = 16ULL << 20;
	l->max_body_size = 1ULL << 20;
	l->stack_size = 8ULL << 20;
	l->max_request_time_ns = 1000000000ULL;
	l->max_boot_time_ns = 2000000000ULL;
	l->max_log_size = 64ULL << 10;
	l->data_dir = NULL;
}

int kc_limits_check(const struct kc_limits *l, char *err, size_t errlen)
{
	if (l->max_memory < KC_MIN_MEMORY || l->max_memory > KC_MAX_MEMORY) {
		snprintf(err, errlen,
		         "max_memory must be between %lluM and %lluG",
		         KC_MIN_MEMORY >> 20, KC_MAX_MEMORY >> 30);
		return -EINVAL;
	}
	if (l->stack_size < 64 * 1024 || l->stack_size > l->max_memory / 4) {
		snprintf(err, errlen,
		         "stack_size must be between 64K and max_memory/4");
		return -EINVAL;
	}
	if (l->max_body_size > l->max_memory / 4) {
		snprintf(err, errlen,
		         "max_body_size must be at most max_memory/4");
		return -EINVAL;
	}
	if (l->max_request_time_ns == 0 || l->max_boot_time_ns == 0) {
		snprintf(err, errlen, "time limits must be above zero");
		return -EINVAL;
	}
	return 0;
}

int kc_layout_compute(const struct kc_limits *lim,
                      const struct kc_elf_plan *plan, struct kc_layout *lay,
                      char *err, size_t errlen)
{
	uint64_t mem = lim->max_memory & KC_PAGE_MASK, pts;

	if (kc_limits_check(lim, err, errlen))
		return -EINVAL;
	lay->mem_size = mem;
	lay->pd_count = (uint32_t)((mem + GIB - 1) / GIB);
	pts = (mem + MIB2 - 1) / MIB2;
	lay->pt_end = mem;
	lay->pt_base = mem - (2 + lay->pd_count + pts) * KC_PAGE_SIZE;
	lay->req_size = KC_PAGE_UP(lim->max_body_size + KC_REQ_HEADROOM);
	lay->req_base = lay->pt_base - lay->req_size;
	lay->stack_top = lay->req_base;
	lay->stack_bottom = lay->stack_top - KC_PAGE_UP(lim->stack_size);
	lay->mmap_top = lay->stack_bottom - KC_STACK_GUARD;
	lay->heap_base = KC_PAGE_UP(plan->hi);
	if (lay->heap_base + KC_STACK_GUARD > lay->mmap_top) {
		snprintf(err, errlen,
		         "program (ends at 0x%llx) and stack do not fit in "
		         "max_memory (%lluM)",
		         (unsigned long long)plan->hi,
		         (unsigned long long)(mem >> 20));
		return -EFBIG;
	}
	return 0;
}

#define SLOT_UP(x)   (((x) + KC_SLOT_ALIGN - 1) & ~(KC_SLOT_ALIGN - 1))
#define SLOT_DOWN(x) ((x) & ~(KC_SLOT_ALIGN - 1))

void kc_slots_empty(const struct kc_layout *lay, struct kc_slots *s)
{
	s->low_end = 0;
	s->high_start = lay->mem_size;
}

void kc_slots_plan(const struct kc_layout *lay, uint64_t brk_high,
                   uint64_t mmap_min, struct kc_slots *s)
{
	uint64_t mem = lay->mem_size, low = s->low_end, high = s->high_start;
	uint64_t size = mem - high;

	if (low >= high)
		return; /* they meet: everything is backed */
	if (brk_high > low) {
		low = SLOT_UP(brk_high + KC_SLOT_HEADROOM);
		if (low < 2 * s->low_end)
			low = 2 * s->low_end;
	}
	if (mmap_min < high) {
		high = mmap_min > KC_SLOT_HEADROOM
		           ? SLOT_DOWN(mmap_min - KC_SLOT_HEADROOM)
		           : 0;
		if (size > mem / 2)
			high = 0;
		else if (high > mem - 2 * size)
			high = mem - 2 * size;
	}
	/* Where they would overlap they meet instead, at a point where
	 * neither shrinks nor becomes empty (KVM refuses an empty slot):
	 * the old edge of the side that did not grow, else the heap's end
	 * (0 < brk_high <= mmap_min < mem_size). */
	if (low > high) {
		if (brk_high <= s->low_end)
			low = s->low_end;
		else if (mmap_min >= s->high_start)
			low = s->high_start;
		else
			low = brk_high;
		high = low;
	}
	s->low_end = low;
	s->high_start = high;
}
