/* The tenant runtime: hypercalls, request accessors and the entry the host
 * calls for each request.  Linked into every tenant program. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm-abi.h"
#include "kvm-fpm.h"

#define RESPONSE_HEADERS_MAX 16384

/* Marks the program as built with this SDK; the loader checks it. */
__attribute__((section(".note.kvmfpm"), aligned(4), used)) static const struct {
	uint32_t namesz, descsz, type;
	char name[8];
	uint32_t version;
} abi_note = {sizeof(KFPM_NOTE_NAME), 4, KFPM_NOTE_TYPE, KFPM_NOTE_NAME,
              KFPM_ABI_VERSION};

/* Weak, so that a program without my_backend still links; the host refuses
 * it when it declares itself ready. */
extern void my_backend(const char *url) __attribute__((weak));

static const struct kfpm_request *current;
static char header_buf[RESPONSE_HEADERS_MAX];
static size_t header_len;

static long hypercall(enum kfpm_call call, const void *arg)
{
	long ret;

	/* Enter the monitor's call path directly (see KFPM_CALL_ENTRY). */
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
	                 "mov $0x202, %%r11d\n\t"
	                 "jmp *%[entry]\n"
	                 "1:"
	                 : "=a"(ret)
	                 : "a"((unsigned long)KFPM_CALL_BASE + call),
	                   "D"(arg), [entry] "r"((unsigned long)KFPM_CALL_ENTRY)
	                 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noreturn)) static void
send_response(int status, const char *type, const void *body, size_t len)
{
	struct kfpm_response r;

	fflush(stdout);
	memset(&r, 0, sizeof(r));
	r.status = (uint32_t)status;
	if (type == NULL)
		type = "text/plain";
	r.content_type.ptr = (uintptr_t)type;
	r.content_type.len = strlen(type);
	r.headers.ptr = (uintptr_t)header_buf;
	r.headers.len = header_len;
	r.body.ptr = (uintptr_t)body;
	r.body.len = len;
	hypercall(KFPM_CALL_RESPONSE, &r);
	__builtin_trap(); /* the host never resumes a finished request */
}

void backend_response(int status, const char *content_type, const void *body,
                      size_t len)
{
	if (status < 100 || status > 999)
		status = 500;
	send_response(status, content_type, body, len);
}

void backend_response_str(int status, const char *content_type, const char *str)
{
	backend_response(status, content_type, str, str ? strlen(str) : 0);
}

static int is_token_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int response_header(const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), i;

	if (nlen == 0)
		return -1;
	for (i = 0; i < nlen; i++)
		if (!is_token_char((unsigned char)name[i]))
			return -1;
	for (i = 0; i < vlen; i++)
		if (value[i] == '\r' || value[i] == '\n')
			return -1;
	if (header_len + nlen + vlen + 4 > sizeof(header_buf))
		return -1;
	memcpy(header_buf + header_len, name, nlen);
	header_len += nlen;
	memcpy(header_buf + header_len, ": ", 2);
	header_len += 2;
	memcpy(header_buf + header_len, value, vlen);
	header_len += vlen;
	memcpy(header_buf + header_len, "\r\n", 2);
	header_len += 2;
	return 0;
}

static const char *str_or_empty(const struct kfpm_str *s)
{
	return current && s->ptr ? (const char *)(uintptr_t)s->ptr : "";
}

const char *request_method(void)
{
	return current ? str_or_empty(&current->method) : "";
}

const char *request_uri(void)
{
	return current ? str_or_empty(&current->uri) : "";
}

const char *request_query(void)
{
	return current ? str_or_empty(&current->query) : "";
}

const char *request_remote_addr(void)
{
	return current ? str_or_empty(&current->remote_addr) : "";
}

/* Header names compare case-insensitively with '-' and '_' alike. */
static int header_name_eq(const char *a, const char *b, size_t blen)
{
	size_t i;

	for (i = 0; i < blen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x == 0)
			return 0;
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x == '_')
			x = '-';
		if (y == '_')
			y = '-';
		if (x != y)
			return 0;
	}
	return a[blen] == 0;
}

const char *request_header(const char *name)
{
	const struct kfpm_header *h;
	uint32_t i;

	if (current == NULL)
		return NULL;
	h = (const struct kfpm_header *)(uintptr_t)current->headers;
	for (i = 0; i < current->header_count; i++)
		if (header_name_eq(name, (const char *)(uintptr_t)h[i].name.ptr,
		                   h[i].name.len))
			return (const char *)(uintptr_t)h[i].value.ptr;
	return NULL;
}

const void *request_body(size_t *len)
{
	if (len)
		*len = current ? current->body.len : 0;
	return current && current->body.len
	           ? (const void *)(uintptr_t)current->body.ptr
	           : "";
}

/* Where the host enters for each request, on the snapshot's stack. */
__attribute__((noreturn, used)) static void
request_entry(const struct kfpm_request *req)
{
	current = req;
	header_len = 0;
	my_backend(str_or_empty(&req->uri));
	send_response(0, NULL, NULL, 0);
}

void wait_for_requests(void)
{
	struct kfpm_ready ready;

	fflush(stdout);
	memset(&ready, 0, sizeof(ready));
	ready.abi_version = KFPM_ABI_VERSION;
	ready.entry = (uintptr_t)request_entry;
	ready.backend = (uintptr_t)my_backend;
	hypercall(KFPM_CALL_READY, &ready);
	/* Only the snapshot continues, and never from here. */
	__builtin_trap();
}

void breakpoint(void)
{
	hypercall(KFPM_CALL_BREAKPOINT, NULL);
}
