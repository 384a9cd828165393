/* kvm-fpm tenant API: what a tenant program includes. */
#ifndef KVM_FPM_H
#define KVM_FPM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The program's request handler, called once per request with the request
 * URI ("/path?query").  It must end with backend_response(); memory it
 * writes is thrown away when the request ends.
 */
void my_backend(const char *url);

/* Answer the current request and end it.  Does not return.  The body is
 * copied out by the host; content_type may be NULL (text/plain). */
__attribute__((noreturn)) void backend_response(int status,
                                                const char *content_type,
                                                const void *body, size_t len);

/* backend_response() with a NUL-terminated body. */
__attribute__((noreturn)) void
backend_response_str(int status, const char *content_type, const char *str);

/* Add a response header for the current request.  Returns 0, or -1 when the
 * name or value is invalid (bad characters, CR/LF) or the header space
 * (16 KiB per request) is full. */
int response_header(const char *name, const char *value);

/* Request accessors; valid during my_backend().  Strings are
 * NUL-terminated; absent ones are "" (request_header: NULL). */
const char *request_method(void);
const char *request_uri(void);
const char *request_query(void);
const char *request_remote_addr(void);
/* A request header by name, case-insensitive, '-' and '_' alike:
 * request_header("User-Agent"). */
const char *request_header(const char *name);
/* The request body (POST/PUT), and its length in *len when len != NULL. */
const void *request_body(size_t *len);

/*
 * Declare initialisation done: the state at this point is the snapshot every
 * request starts from.  Returning 0 from main() does the same.  Does not
 * return.
 */
__attribute__((noreturn)) void wait_for_requests(void);

/* Stop here for the debugger when debugging is allowed; otherwise nothing. */
void breakpoint(void);

#ifdef __cplusplus
}
#endif

#endif
