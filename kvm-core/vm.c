/* Request VMs: created on an image, one request at a time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "kc_files.h"
#include "kc_kvm.h"
#include "kc_reset.h"
#include "kc_result.h"
#include "kc_run.h"
#include "kc_vm.h"

int kc_vm_create(struct kc_image *img, kc_output_fn *out, void *out_ctx,
                 struct kc_vm **vmp, char *err, size_t errlen)
{
	void *mem = mmap(NULL, img->lay.mem_size, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_NORESERVE, img->memfd, 0);
	int r;

	if (mem == MAP_FAILED) {
		r = -errno;
		snprintf(err, errlen, "mmap guest memory: %s", strerror(-r));
		return r;
	}
	r = kc_vm_new(img, mem, &img->alloc, &img->sregs,
	              kc_files_clone(img->files), out, out_ctx, vmp, err,
	              errlen);
	if (r)
		munmap(mem, img->lay.mem_size);
	return r;
}

struct kc_image *kc_vm_image(const struct kc_vm *vm)
{
	return vm->img;
}

void kc_vm_stats(const struct kc_vm *vm, struct kc_vm_stats *st)
{
	*st = vm->stats;
}

/* Copies request data into the guest's read-only request area. */
struct req_writer {
	uint8_t *base;
	uint64_t gbase, used, size;
};

static uint64_t put(struct req_writer *w, const void *p, size_t n, bool nul)
{
	uint64_t at = (w->used + 7) & ~7ULL, need = n + (nul ? 1 : 0);

	if (at > w->size || need > w->size - at)
		return 0;
	if (p != NULL && n) /* NULL reserves room filled in later */
		memcpy(w->base + at, p, n);
	if (nul)
		w->base[at + n] = 0;
	w->used = at + need;
	return w->gbase + at;
}

static bool put_str(struct req_writer *w, struct kfpm_str *dst,
                    const struct kc_str *src)
{
	dst->len = src->len;
	dst->ptr = put(w, src->ptr ? src->ptr : "", src->len, true);
	return dst->ptr != 0;
}

static bool write_request(struct kc_vm *vm, const struct kc_request *req)
{
	const struct kc_layout *lay = &vm->img->lay;
	struct req_writer w = {vm->mem + lay->req_base, lay->req_base, 0,
	                       lay->req_size};
	struct kfpm_request r, *rp;
	struct kfpm_header *h;
	size_t i;
	bool ok;

	memset(&r, 0, sizeof(r));
	r.abi_version = KFPM_ABI_VERSION;
	r.header_count = (uint32_t)req->header_count;
	ok = put(&w, &r, sizeof(r), false) != 0 &&
	     req->header_count < UINT32_MAX / sizeof(*h);
	r.headers =
	    ok ? put(&w, NULL, req->header_count * sizeof(*h), false) : 0;
	ok = ok && r.headers && put_str(&w, &r.method, &req->method) &&
	     put_str(&w, &r.uri, &req->uri) &&
	     put_str(&w, &r.query, &req->query) &&
	     put_str(&w, &r.remote_addr, &req->remote_addr);
	if (ok && req->body_len) {
		struct kc_str body = {req->body, req->body_len};

		ok = put_str(&w, &r.body, &body);
	}
	h = (struct kfpm_header *)(vm->mem + r.headers);
	for (i = 0; ok && i < req->header_count; i++)
		ok = put_str(&w, &h[i].name, &req->headers[i].name) &&
		     put_str(&w, &h[i].value, &req->headers[i].value);
	rp = (struct kfpm_request *)(vm->mem + lay->req_base);
	if (ok)
		*rp = r;
	vm->req_used = w.used;
	return ok;
}

enum kc_status kc_vm_request(struct kc_vm *vm, const struct kc_request *req,
                             struct kc_result *res)
{
	int r;

	memset(res, 0, offsetof(struct kc_result, error));
	res->error[0] = 0;
	vm->res = res;
	/* The reset is the caller's, after it sent the answer (kc.h): one
	 * done here would make the client wait for it, and one skipped
	 * would hand this request the last one's memory. */
	if (vm->dirty)
		return kc_vm_fail(vm, KC_ERR_INTERNAL,
		                  "the VM was not reset after its last request "
		                  "(kc_vm_reset)");
	vm->stats.requests++;
	if (!write_request(vm, req)) {
		vm->dirty = true;
		return kc_vm_fail(
		    vm, KC_ERR_TOO_LARGE,
		    "request of %zu header(s) and %zu body bytes "
		    "does not fit the request area (%lluK)",
		    req->header_count, req->body_len,
		    (unsigned long long)(vm->img->lay.req_size >> 10));
	}
	/* Requests run in user mode only, the first one on the VM that
	 * booted the program too (handed over without a reset, it may have
	 * stopped in ring 0: a READY made by syscall on VMX/SVM). */
	r = kc_vm_user_mode(vm);
	if (r) {
		vm->broken = vm->dirty = true;
		return kc_vm_fail(vm, KC_ERR_INTERNAL,
		                  "cannot enter user mode: %s", strerror(-r));
	}
	kc_vm_enter_user(vm, vm->img->entry, vm->img->user_rsp,
	                 vm->img->lay.req_base);
	return kc_vm_run(vm, vm->img->lim.max_request_time_ns);
}
