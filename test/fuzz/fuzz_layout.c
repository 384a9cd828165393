/* libFuzzer harness: the guest memory layout (kc_layout_compute) for any
 * limits and program extent, and the memory slot plans (kc_slots_plan)
 * for any sequence of heap and mmap growth.  Pure arithmetic whose
 * mistakes would let a guest address land outside what KVM backs. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "kc.h"
#include "kc_elf.h"
#include "kc_layout.h"

#define GUARD KC_STACK_GUARD

/* The input, read as little-endian integers; zeros once it runs out. */
struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static int aligned(uint64_t x)
{
	return (x & (KC_PAGE_SIZE - 1)) == 0;
}

/* Bottom to top: program and heap, guard, mmap area, guard, stack,
 * request area, page tables; all inside max_memory. */
static void check_layout(const struct kc_layout *l, const struct kc_limits *m,
                         const struct kc_elf_plan *plan)
{
	uint64_t pts = (l->mem_size + (2ULL << 20) - 1) / (2ULL << 20);

	assert(aligned(l->heap_base) && aligned(l->mmap_top) &&
	       aligned(l->stack_bottom) && aligned(l->stack_top) &&
	       aligned(l->req_base) && aligned(l->req_size) &&
	       aligned(l->pt_base) && aligned(l->mem_size));
	assert(l->heap_base >= plan->hi);
	assert(l->heap_base + GUARD <= l->mmap_top);
	assert(l->mmap_top + GUARD == l->stack_bottom);
	assert(l->stack_bottom < l->stack_top);
	assert(l->stack_top - l->stack_bottom >= m->stack_size);
	assert(l->stack_top == l->req_base);
	assert(l->req_size >= m->max_body_size);
	assert(l->req_base + l->req_size == l->pt_base);
	assert(l->pt_base < l->pt_end && l->pt_end == l->mem_size);
	assert((l->pt_end - l->pt_base) / KC_PAGE_SIZE >=
	       2 + l->pd_count + pts);
	assert(l->mem_size <= m->max_memory);
}

/* Heap and mmap growth as the allocator makes it: brk_high only rises,
 * mmap_min only falls, and they never cross. */
static void check_slots(const struct kc_layout *l, struct input *in)
{
	uint64_t brk_high = l->heap_base, mmap_min = l->mmap_top;
	struct kc_slots s, old;
	unsigned steps = 0;

	kc_slots_empty(l, &s);
	do {
		old = s;
		kc_slots_plan(l, brk_high, mmap_min, &s);
		assert(kc_slots_cover(&s, brk_high, mmap_min));
		assert(s.low_end >= old.low_end &&
		       s.high_start <= old.high_start);
		assert(s.low_end > 0 && s.high_start < l->mem_size);
		assert(s.low_end <= s.high_start);
		if (take(in, 1) & 1) {
			uint64_t room = (mmap_min - brk_high) / KC_PAGE_SIZE;

			brk_high += take(in, 4) % (room + 1) * KC_PAGE_SIZE;
		} else {
			uint64_t room = (mmap_min - brk_high) / KC_PAGE_SIZE;

			mmap_min -= take(in, 4) % (room + 1) * KC_PAGE_SIZE;
		}
	} while (in->left && ++steps < 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct kc_elf_plan plan;
	struct kc_layout lay;
	struct kc_limits lim;
	char err[256] = "";

	kc_limits_default(&lim);
	lim.max_memory = take(&in, 6);
	lim.stack_size = take(&in, 5);
	lim.max_body_size = take(&in, 5);
	memset(&plan, 0, sizeof(plan));
	plan.hi = KC_PAGE_UP(KC_USER_MIN + take(&in, 5));
	memset(&lay, 0, sizeof(lay));
	if (kc_layout_compute(&lim, &plan, &lay, err, sizeof(err))) {
		assert(err[0] != '\0');
		return 0;
	}
	check_layout(&lay, &lim, &plan);
	check_slots(&lay, &in);
	return 0;
}
