/* The one checked translation from guest addresses to host pointers. */
#include <string.h>

#include "kc_gmem.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_x86.h"

void *kc_gmem(uint8_t *mem, const struct kc_layout *lay, uint64_t gva,
              uint64_t len, int flags)
{
	uint64_t need = KC_PTE_P | KC_PTE_U, end = gva + len, page;

	if (flags & KC_GMEM_WRITE)
		need |= KC_PTE_W;
	if (flags & KC_GMEM_DEBUG)
		flags |= KC_GMEM_WRITE; /* dirty-marked, W not required */
	if (end < gva || end > lay->mem_size)
		return NULL;
	for (page = gva & KC_PAGE_MASK; page < end; page += KC_PAGE_SIZE) {
		uint64_t *pde, *pte = kc_pt_lookup(mem, lay, page, &pde);

		/* Guest memory is mapped one to one; the call page is not
		 * memory (x86_defs.h KC_CALL_ADDR). */
		if (pte == NULL || (*pte & need) != need ||
		    (*pte & KC_PTE_ADDR) != page)
			return NULL;
		if (flags & KC_GMEM_WRITE) {
			/* The host's write must be undone by the reset
			 * like the guest's own: mark it where the reset
			 * looks (dirty PTE, accessed PDE). */
			*pte |= KC_PTE_D;
			*pde |= KC_PTE_A;
		}
	}
	return mem + gva;
}

const char *kc_gmem_str(uint8_t *mem, const struct kc_layout *lay, uint64_t gva,
                        size_t max, size_t *len)
{
	uint64_t pos = gva;

	while (pos - gva <= max) {
		uint64_t chunk = KC_PAGE_SIZE - (pos & (KC_PAGE_SIZE - 1));
		const char *p = kc_gmem(mem, lay, pos, chunk, 0), *nul;

		if (p == NULL)
			return NULL;
		nul = memchr(p, 0, chunk);
		if (nul) {
			size_t n = (size_t)(pos - gva) + (size_t)(nul - p);

			if (n > max)
				return NULL;
			if (len)
				*len = n;
			return (const char *)mem + gva;
		}
		pos += chunk;
	}
	return NULL;
}

void *kc_gmem_ist(uint8_t *mem, uint64_t rsp, uint64_t len)
{
	if (rsp < KC_IST_BASE || rsp > KC_IST_TOP || len > KC_IST_TOP - rsp)
		return NULL;
	return mem + rsp;
}

uint64_t *kc_gmem_exc_frame(uint8_t *mem, uint64_t rsp, unsigned vector,
                            uint64_t *err)
{
	uint64_t skip = kc_x86_has_error_code(vector) ? 8 : 0;
	uint64_t *p = kc_gmem_ist(mem, rsp, skip + KC_FRAME_SIZE);

	if (p && err)
		*err = skip ? p[0] : 0;
	return p ? p + skip / 8 : NULL;
}
