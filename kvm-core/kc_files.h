/* The guest's file table (sys_file.c) as the VM's life cycle sees it:
 * made at boot, cloned for each VM, reset after each request. */
#ifndef KC_FILES_H
#define KC_FILES_H

#include <stddef.h>

struct kc_files;

/* A table for a booting VM, opening data_dir (NULL: none); 0 or -errno
 * with the reason in err. */
int kc_files_new(const char *data_dir, struct kc_files **out, char *err,
                 size_t errlen);
/* A VM's table from the image's (NULL: out of memory). */
struct kc_files *kc_files_clone(const struct kc_files *img);
/* Close what the request opened, bring back the snapshot's files and
 * offsets. */
void kc_files_reset(struct kc_files *t, const struct kc_files *img);
/* Close and free everything (NULL: nothing). */
void kc_files_free(struct kc_files *t);

#endif
