/* The kvm-fpm hypercalls that end a phase: READY (the snapshot point) and
 * RESPONSE (a request's answer), with the response checked. */
#include <string.h>

#include "kc_gmem.h"
#include "kc_result.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define CONTENT_TYPE_MAX 255
#define HEADERS_MAX      (64u << 10)
#define READY_STACK_MIN  512 /* user stack below READY's rsp (image.c) */

int kc_hyper_ready(struct kc_vm *vm, struct kvm_regs *r)
{
	if (!vm->booting)
		return kc_vm_fail(
		    vm, KC_ERR_FAULT,
		    "wait_for_requests() called during a request");
	/* Where main() stood, for the snapshot's requests to start below
	 * (a call leaves rsp as it was: stubs.S). */
	if (r->rsp < READY_STACK_MIN ||
	    !kc_gmem(vm->mem, &vm->img->lay, r->rsp - READY_STACK_MIN,
	             READY_STACK_MIN, KC_GMEM_WRITE))
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "wait_for_requests() called with a stack "
		                  "pointer 0x%llx below no writable stack",
		                  (unsigned long long)r->rsp);
	vm->ready_rsp = r->rsp;
	/* Copied: the guest's structure may sit at any alignment. */
	if (kc_sys_get(vm, &vm->ready, r->rdi, sizeof(vm->ready)))
		return kc_vm_fail(vm, KC_ERR_BAD_POINTER,
		                  "bad pointer 0x%llx passed to "
		                  "wait_for_requests()",
		                  (unsigned long long)r->rdi);
	if (vm->ready.abi_version != KFPM_ABI_VERSION)
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "runtime speaks ABI %u, the server %u",
		                  vm->ready.abi_version, KFPM_ABI_VERSION);
	if (vm->ready.backend == 0)
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "the program has no my_backend() function");
	if (!kc_gmem(vm->mem, &vm->img->lay, vm->ready.entry, 1, 0))
		return kc_vm_fail(vm, KC_ERR_BAD_POINTER,
		                  "bad request entry 0x%llx",
		                  (unsigned long long)vm->ready.entry);
	vm->res->status = KC_OK;
	return KC_OK;
}

static bool is_token(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_text(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* "Name: value\r\n" lines only; returns the offset of the first bad line,
 * or n when all are good. */
static size_t check_headers(const char *p, size_t n)
{
	size_t pos = 0;

	while (pos < n) {
		const char *line = p + pos, *end, *colon;
		size_t len, name;

		end = memchr(line, '\r', n - pos);
		if (end == NULL || (size_t)(end - p) + 1 >= n || end[1] != '\n')
			return pos;
		len = (size_t)(end - line);
		colon = memchr(line, ':', len);
		if (colon == NULL || colon == line)
			return pos;
		for (name = 0; line + name < colon; name++)
			if (!is_token((unsigned char)line[name]))
				return pos;
		if (!is_text(colon + 1, (size_t)(end - colon - 1)))
			return pos;
		pos += len + 2;
	}
	return n;
}

static const char *guest_bytes(struct kc_vm *vm, const struct kfpm_str *s)
{
	return kc_gmem(vm->mem, &vm->img->lay, s->ptr, s->len, 0);
}

int kc_hyper_response(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_result *res = vm->res;
	struct kfpm_response resp;
	const char *ct, *hdr, *body;
	size_t bad;

	if (vm->booting)
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "backend_response() called from main()");
	if (kc_sys_get(vm, &resp, r->rdi, sizeof(resp)))
		return kc_vm_fail(vm, KC_ERR_BAD_POINTER,
		                  "bad response pointer 0x%llx",
		                  (unsigned long long)r->rdi);
	if (resp.status == 0)
		return kc_vm_fail(vm, KC_ERR_NO_RESPONSE,
		                  "my_backend() returned without calling "
		                  "backend_response()");
	if (resp.status < 100 || resp.status > 999)
		return kc_vm_fail(vm, KC_ERR_BAD_RESPONSE,
		                  "invalid HTTP status %u", resp.status);
	if (resp.body.len > vm->img->lim.max_response_size)
		return kc_vm_fail(
		    vm, KC_ERR_TOO_LARGE,
		    "response body of %llu bytes is over "
		    "max_response_size (%llu)",
		    (unsigned long long)resp.body.len,
		    (unsigned long long)vm->img->lim.max_response_size);
	if (resp.content_type.len > CONTENT_TYPE_MAX ||
	    resp.headers.len > HEADERS_MAX)
		return kc_vm_fail(vm, KC_ERR_TOO_LARGE,
		                  "content type or headers too long");
	ct = guest_bytes(vm, &resp.content_type);
	hdr = guest_bytes(vm, &resp.headers);
	body = guest_bytes(vm, &resp.body);
	if (ct == NULL || hdr == NULL || body == NULL)
		return kc_vm_fail(
		    vm, KC_ERR_BAD_POINTER,
		    "bad %s pointer 0x%llx (length %llu) passed "
		    "to backend_response()",
		    !ct    ? "content type"
		    : !hdr ? "header"
		           : "body",
		    (unsigned long long)(!ct    ? resp.content_type.ptr
		                         : !hdr ? resp.headers.ptr
		                                : resp.body.ptr),
		    (unsigned long long)(!ct    ? resp.content_type.len
		                         : !hdr ? resp.headers.len
		                                : resp.body.len));
	if (!is_text(ct, resp.content_type.len))
		return kc_vm_fail(vm, KC_ERR_BAD_RESPONSE,
		                  "invalid content type");
	bad = check_headers(hdr, resp.headers.len);
	if (bad != resp.headers.len)
		return kc_vm_fail(vm, KC_ERR_BAD_RESPONSE,
		                  "invalid response header at byte %zu", bad);
	res->status = KC_OK;
	res->http_status = (int)resp.status;
	res->content_type = (struct kc_str){ct, resp.content_type.len};
	res->headers = (struct kc_str){hdr, resp.headers.len};
	res->body = (struct kc_str){body, resp.body.len};
	return KC_OK;
}
