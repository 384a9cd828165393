/* Escaping what tenants and clients control before it reaches a log. */
#ifndef FS_ESCAPE_H
#define FS_ESCAPE_H

#include <stddef.h>

/*
 * Copy len bytes of src into dst (dstlen bytes, NUL-terminated when
 * dstlen > 0), writing as \xHH every byte a reader or terminal could
 * mistake for structure: C0 controls (newline, CR, ESC, NUL ...), DEL,
 * bytes that are not well-formed UTF-8, the C1 controls, the line and
 * paragraph separators and the bidirectional overrides (each byte of
 * their UTF-8 form), and the ASCII bytes in extra (e.g. "\"\\ " for a
 * field of the access log).  Well-formed printable UTF-8 stays as it is.
 * An escape that does not fit is left out with all that follows.  Returns
 * the length written, without the NUL.
 */
size_t fs_escape(char *dst, size_t dstlen, const char *src, size_t len,
                 const char *extra);

#endif
