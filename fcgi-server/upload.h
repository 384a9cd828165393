/* Live update: a tenant program uploaded over HTTP goes live in every
 * worker, or is refused and changes nothing. */
#ifndef FS_UPLOAD_H
#define FS_UPLOAD_H

#include "server.h"

/*
 * Route a request carrying X-LiveUpdate (key) to r->tenant: an upload, or
 * the error that refuses it before its body is read (405, 403, 411, 413).
 */
void fs_upload_route(const struct fs_conf *c, const struct fs_param *p,
                     size_t n, const char *key, struct fs_route *r);

/*
 * Validate the program in elf[0..len) by booting it in a fresh VM under
 * max_boot_time, store it in program_dir and make it the tenant's program
 * in every worker; answer 200, or 400/422 with the reason (the old
 * program stays), or 500/503; the status goes to *status.  0 or the
 * writer's error.
 */
int fs_upload_answer(struct fs_server *s, const struct fs_route *r,
                     const void *elf, size_t len, fs_write_fn *write, void *ctx,
                     int *status);

#endif
