/* Guest page tables (pagetable.c): pure functions over guest memory that
 * the host builds and changes.  No KVM. */
#ifndef KC_PAGETABLE_H
#define KC_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

struct kc_layout;

#define KC_PTE_P    (1ULL << 0)
#define KC_PTE_W    (1ULL << 1)
#define KC_PTE_U    (1ULL << 2)
#define KC_PTE_A    (1ULL << 5)
#define KC_PTE_D    (1ULL << 6)
#define KC_PTE_NX   (1ULL << 63)
#define KC_PTE_ADDR 0x000ffffffffff000ULL

/* Pages the host itself wrote during a request, restored at reset. */
#define KC_TOUCH_MAX 64
struct kc_touch {
	uint64_t page[KC_TOUCH_MAX];
	unsigned count;
	bool overflow; /* too many: restore every page-table page */
};

/* Note that the host changed the page-table page holding gpa. */
void kc_touch_add(struct kc_touch *t, uint64_t gpa);

/* Empty page tables: PML4 and PDPT pointing at every PD. */
void kc_pt_init(uint8_t *mem, const struct kc_layout *lay);

/*
 * Map [va, va + len) (page-aligned) with PTE flags, creating page tables
 * from the pool at *pt_next.  Records modified table pages in touch when
 * not NULL.  0, or -ENOMEM when the pool or the address range is exceeded.
 */
int kc_pt_map(uint8_t *mem, const struct kc_layout *lay, uint64_t *pt_next,
              uint64_t va, uint64_t len, uint64_t flags,
              struct kc_touch *touch);

/* The PTE mapping va, or NULL when no page table covers it; its PDE in
 * *pde when pde is not NULL. */
uint64_t *kc_pt_lookup(uint8_t *mem, const struct kc_layout *lay, uint64_t va,
                       uint64_t **pde);

/* A zeroed bitmap with a bit per page of lay's memory (NULL when out of
 * memory; free()).  Rounded up: max_memory is any whole number of pages. */
uint64_t *kc_pt_page_bitmap(const struct kc_layout *lay);

/* Clear every PDE accessed bit and PTE dirty bit (taking a snapshot), and
 * set a bit in present (one per page) for each mapped page. */
void kc_pt_clear_dirty(uint8_t *mem, const struct kc_layout *lay,
                       uint64_t *present);

#endif
