/* An image's life: references held by the tenant table and its VMs. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kc_elf.h"
#include "kc_files.h"
#include "kc_vm.h"

void kc_image_get(struct kc_image *img)
{
	img->refs++;
}

void kc_image_put(struct kc_image *img)
{
	if (img == NULL || --img->refs > 0)
		return;
	if (img->snap)
		munmap((void *)img->snap, img->lay.mem_size);
	if (img->memfd >= 0)
		close(img->memfd);
	kc_symtab_free(&img->syms);
	kc_files_free(img->files);
	free(img->present);
	free(img);
}

const struct kc_limits *kc_image_limits(const struct kc_image *img)
{
	return &img->lim;
}

uint64_t kc_image_snapshot_bytes(const struct kc_image *img)
{
	return img->snapshot_bytes;
}
