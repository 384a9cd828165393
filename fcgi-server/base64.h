/* RFC 4648 base64, which etcd's JSON gateway uses for keys and values. */
#ifndef FS_BASE64_H
#define FS_BASE64_H

#include <stddef.h>

/* RFC 4648 base64 of src[0..len) into dst (room for 4*((len+2)/3)+1). */
void fs_base64_encode(const void *src, size_t len, char *dst);

/* Decode src[0..len) into dst (room for 3*len/4); the length, or -EINVAL. */
long fs_base64_decode(const char *src, size_t len, void *dst);

#endif
