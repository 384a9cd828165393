/* Guest page tables: identity mapping built and changed by the host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_layout.h"
#include "kc_pagetable.h"

#define PT_INDEX(va)  (((va) >> 12) & 511)
#define PDE_INDEX(va) (((va) >> 21) & 511)
#define PD_OF(va)     ((va) >> 30)
#define TABLE_FLAGS   (KC_PTE_P | KC_PTE_W | KC_PTE_U)

static uint64_t *table(uint8_t *mem, uint64_t gpa)
{
	return (uint64_t *)(mem + gpa);
}

void kc_touch_add(struct kc_touch *t, uint64_t gpa)
{
	uint64_t page = gpa & KC_PAGE_MASK;
	unsigned i;

	for (i = 0; i < t->count; i++)
		if (t->page[i] == page)
			return;
	if (t->count == KC_TOUCH_MAX) {
		t->overflow = true;
		return;
	}
	t->page[t->count++] = page;
}

void kc_pt_init(uint8_t *mem, const struct kc_layout *lay)
{
	uint64_t *pml4 = table(mem, KC_PML4(lay));
	uint64_t *pdpt = table(mem, KC_PDPT(lay));
	uint32_t i;

	memset(mem + lay->pt_base, 0, (2 + lay->pd_count) * KC_PAGE_SIZE);
	/* Accessed bits preset above the PDs: the hardware then never
	 * writes these pages, and they stay shared between VMs. */
	pml4[0] = KC_PDPT(lay) | TABLE_FLAGS | KC_PTE_A;
	for (i = 0; i < lay->pd_count; i++)
		pdpt[i] = KC_PD(lay, i) | TABLE_FLAGS | KC_PTE_A;
}

static uint64_t *pde_of(uint8_t *mem, const struct kc_layout *lay, uint64_t va)
{
	return table(mem, KC_PD(lay, PD_OF(va))) + PDE_INDEX(va);
}

int kc_pt_map(uint8_t *mem, const struct kc_layout *lay, uint64_t *pt_next,
              uint64_t va, uint64_t len, uint64_t flags, struct kc_touch *touch)
{
	uint64_t end = va + len, last_pt = 0;

	if (end < va || end > lay->mem_size)
		return -ENOMEM;
	for (; va < end; va += KC_PAGE_SIZE) {
		uint64_t *pde = pde_of(mem, lay, va), pt;

		if (!(*pde & KC_PTE_P)) {
			if (*pt_next + KC_PAGE_SIZE > lay->pt_end)
				return -ENOMEM;
			pt = *pt_next;
			*pt_next += KC_PAGE_SIZE;
			memset(mem + pt, 0, KC_PAGE_SIZE);
			*pde = pt | TABLE_FLAGS;
			if (touch)
				kc_touch_add(touch,
				             (uint64_t)((uint8_t *)pde - mem));
		}
		pt = *pde & KC_PTE_ADDR;
		/* Accessed preset: reads never dirty a page-table page. */
		table(mem, pt)[PT_INDEX(va)] = va | flags | KC_PTE_P | KC_PTE_A;
		if (touch && pt != last_pt)
			kc_touch_add(touch, pt);
		last_pt = pt;
	}
	return 0;
}

uint64_t *kc_pt_lookup(uint8_t *mem, const struct kc_layout *lay, uint64_t va,
                       uint64_t **pde_out)
{
	uint64_t *pde;

	if (va >= lay->mem_size)
		return NULL;
	pde = pde_of(mem, lay, va);
	if (!(*pde & KC_PTE_P))
		return NULL;
	if (pde_out)
		*pde_out = pde;
	return table(mem, *pde & KC_PTE_ADDR) + PT_INDEX(va);
}

void kc_pt_clear_dirty(uint8_t *mem, const struct kc_layout *lay,
                       uint64_t *present)
{
	uint32_t d;
	unsigned i, j;

	for (d = 0; d < lay->pd_count; d++) {
		uint64_t *pd = table(mem, KC_PD(lay, d));

		for (i = 0; i < 512; i++) {
			uint64_t *pt;

			if (!(pd[i] & KC_PTE_P))
				continue;
			pd[i] &= ~KC_PTE_A;
			pt = table(mem, pd[i] & KC_PTE_ADDR);
			for (j = 0; j < 512; j++) {
				uint64_t pn =
				    ((uint64_t)d << 18) | (i << 9) | j;

				/* Guest memory is mapped one to one; what
				 * is not (the call page) is no memory. */
				if ((pt[j] & KC_PTE_ADDR) != pn << 12)
					continue;
				pt[j] &= ~KC_PTE_D;
				if (pt[j] & KC_PTE_P)
					present[pn >> 6] |= 1ULL << (pn & 63);
			}
		}
	}
}

uint64_t *kc_pt_page_bitmap(const struct kc_layout *lay)
{
	return calloc((lay->mem_size / KC_PAGE_SIZE + 63) / 64,
	              sizeof(uint64_t));
}
