/* Tenant programs on disk: read, boot, and log their output. */
#ifndef FS_PROGRAM_H
#define FS_PROGRAM_H

#include <stddef.h>

#include "kc.h"

#define FS_PROGRAM_MAX (64u << 20)

struct fs_program {
	void *elf;
	size_t len;
};

/* Read path (at most FS_PROGRAM_MAX bytes).  0 or -errno, reason in err. */
int fs_program_read(const char *path, struct fs_program *p, char *err,
                    size_t errlen);
void fs_program_free(struct fs_program *p);

/* Read and boot a program: kc_image_boot() with the file's reasons. */
int fs_program_boot(const char *path, const struct kc_limits *lim,
                    kc_output_fn *out, void *out_ctx, struct fs_program *p,
                    struct kc_image **img, struct kc_vm **vm, char *err,
                    size_t errlen);

/*
 * Open directory dir, creating it (mode 0750) when missing, and take an
 * exclusive lock on it: one writer of uploaded programs at a time, across
 * processes.  The fd, or -errno with the reason in err; close it to unlock.
 */
int fs_program_dir_lock(const char *dir, char *err, size_t errlen);

/*
 * Store data as file name in the locked directory dirfd, atomically: a
 * temporary file, fsync, rename over name, fsync of the directory.  A
 * crash leaves the old file or the new one, never a mix.  0 or -errno with
 * the reason in err.
 */
int fs_program_store(int dirfd, const char *name, const void *data, size_t len,
                     char *err, size_t errlen);

#endif
