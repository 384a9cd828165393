/* A kc_vm over plain memory for the handlers' unit tests (fake_vm.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "kc.h"
#include "kc_elf.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_vm.h"

void fake_vm_init(struct kc_vm *vm, struct kc_image *img, uint64_t program_hi,
                  uint64_t *pt_next)
{
	struct kc_elf_plan plan = {.hi = program_hi};
	char err[128];

	memset(img, 0, sizeof(*img));
	memset(vm, 0, sizeof(*vm));
	kc_limits_default(&img->lim);
	img->lim.max_memory = 16ULL << 20;
	img->lim.stack_size = 1 << 20;
	cr_assert_eq(
	    kc_layout_compute(&img->lim, &plan, &img->lay, err, sizeof(err)), 0,
	    "%s", err);
	vm->mem = calloc(1, img->lay.mem_size);
	cr_assert_not_null(vm->mem);
	kc_pt_init(vm->mem, &img->lay);
	*pt_next = KC_PT_POOL(&img->lay);
	vm->img = img;
}

void fake_vm_map(struct kc_vm *vm, uint64_t *pt_next, uint64_t addr,
                 uint64_t len, uint64_t flags)
{
	cr_assert_eq(
	    kc_pt_map(vm->mem, &vm->img->lay, pt_next, addr, len, flags, NULL),
	    0, "mapping %#llx", (unsigned long long)addr);
}
