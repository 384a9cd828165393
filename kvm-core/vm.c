/* Request VMs: created on an image, one request at a time, faults
 * described for the log. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kc_files.h"
#include "kc_gmem.h"
#include "kc_kvm.h"
#include "kc_vm.h"
#include "kc_x86.h"

static const char *const status_names[KC_STATUS_MAX] = {
    [KC_OK] = "ok",
    [KC_ERR_FAULT] = "fault",
    [KC_ERR_TIMEOUT] = "timeout",
    [KC_ERR_OOM] = "out of memory",
    [KC_ERR_BAD_POINTER] = "bad pointer",
    [KC_ERR_EXIT] = "exit",
    [KC_ERR_NO_RESPONSE] = "no response",
    [KC_ERR_TOO_LARGE] = "too large",
    [KC_ERR_BAD_RESPONSE] = "bad response",
    [KC_ERR_INTERNAL] = "internal error",
    [KC_ERR_DEADLOCK] = "deadlock",
};

const char *kc_status_name(enum kc_status s)
{
	return (unsigned)s < KC_STATUS_MAX ? status_names[s] : "?";
}

enum kc_status kc_vm_fail(struct kc_vm *vm, enum kc_status status,
                          const char *fmt, ...)
{
	va_list ap;

	vm->res->status = status;
	va_start(ap, fmt);
	vsnprintf(vm->res->error, sizeof(vm->res->error), fmt, ap);
	va_end(ap);
	return status;
}

static const char *const vector_names[32] = {
    [0] = "divide error",
    [1] = "debug exception",
    [3] = "breakpoint",
    [4] = "overflow",
    [5] = "bound range exceeded",
    [6] = "invalid opcode",
    [7] = "device not available",
    [8] = "double fault",
    [10] = "invalid TSS",
    [11] = "segment not present",
    [12] = "stack-segment fault",
    [13] = "general protection fault",
    [14] = "page fault",
    [16] = "x87 floating-point error",
    [17] = "alignment check",
    [18] = "machine check",
    [19] = "SIMD floating-point error",
    [21] = "control-protection fault",
};

static void describe_page_fault(struct kc_vm *vm, uint64_t err, char *buf,
                                size_t len)
{
	const struct kc_layout *lay = &vm->img->lay;
	struct kvm_sregs s;
	uint64_t cr2 = 0;
	const char *access = err & 16  ? "executing"
	                     : err & 2 ? "writing"
	                               : "reading";

	/* Synced at the exit when KVM can; asked for otherwise. */
	if (vm->run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		cr2 = vm->run->s.regs.sregs.cr2;
	else if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) == 0)
		cr2 = s.cr2;
	if (cr2 < lay->stack_bottom &&
	    cr2 >= lay->stack_bottom - KC_STACK_GUARD)
		snprintf(buf, len, "stack overflow (%s 0x%llx)", access,
		         (unsigned long long)cr2);
	else
		snprintf(buf, len, "page fault %s %s 0x%llx (error 0x%llx)",
		         err & 1 ? "(protection)" : "(not mapped)", access,
		         (unsigned long long)cr2, (unsigned long long)err);
}

enum kc_status kc_vm_fault(struct kc_vm *vm, unsigned vector)
{
	uint64_t err, rip;
	const uint64_t *frame =
	    kc_gmem_exc_frame(vm->mem, vm->run->s.regs.regs.rsp, vector, &err);
	char what[96], sym[96];
	const char *name = vector < 32 ? vector_names[vector] : NULL;

	if (frame == NULL)
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "exception %u with a bad stack", vector);
	rip = frame[KC_FRAME_RIP];
	if (vector == 14)
		describe_page_fault(vm, err, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "%s", name ? name : "exception");
	if (vector == 13 && err)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
		         " (selector 0x%llx)", (unsigned long long)err);
	kc_symtab_describe(&vm->img->syms, rip, sym, sizeof(sym));
	return kc_vm_fail(vm, KC_ERR_FAULT, "%s at RIP 0x%llx%s%s%s%s", what,
	                  (unsigned long long)rip, sym[0] ? " <" : "", sym,
	                  sym[0] ? ">" : "",
	                  (frame[KC_FRAME_CS] & 3) ? "" : " (in ring 0)");
}

static void line_emit(struct kc_vm *vm, int fd, struct kc_line *l)
{
	if (vm->out && !l->cut)
		vm->out(vm->out_ctx, fd, l->buf, l->len);
	l->len = 0;
}

uint64_t kc_vm_output_room(const struct kc_vm *vm)
{
	return vm->log_cut ? 0 : vm->img->lim.max_log_size - vm->logged;
}

void kc_vm_output_cut(struct kc_vm *vm)
{
	char note[160];
	int i, n;

	if (vm->log_cut || kc_vm_timer_fired())
		return; /* noted, or the run ends as timed out instead */
	vm->log_cut = true;
	for (i = 0; i < 2; i++) /* charged already: they go out first */
		if (vm->line[i].len && !vm->line[i].cut)
			line_emit(vm, i + 1, &vm->line[i]);
	n = snprintf(note, sizeof(note),
	             "output cut at %llu bytes (max_log_size): the rest of "
	             "%s output is dropped",
	             (unsigned long long)vm->img->lim.max_log_size,
	             vm->booting ? "main()'s" : "the request's");
	if (vm->out && n > 0)
		vm->out(vm->out_ctx, 0, note, (size_t)n);
}

/* Charge n more bytes of line l, and its newline when it ends: a line
 * costs its bytes and newline, and at least KC_OUTPUT_LINE_COST, so that
 * a flood of empty lines cannot multiply what reaches the log.  False
 * once over max_log_size. */
static bool charge(struct kc_vm *vm, struct kc_line *l, size_t n, bool ends)
{
	uint64_t cost = n;

	if (ends)
		cost += l->counted + n + 1 < KC_OUTPUT_LINE_COST
		            ? KC_OUTPUT_LINE_COST - l->counted - n
		            : 1;
	if (cost > kc_vm_output_room(vm)) {
		kc_vm_output_cut(vm);
		return false;
	}
	vm->logged += cost;
	l->counted = ends ? 0 : l->counted + n;
	return true;
}

void kc_vm_output(struct kc_vm *vm, int fd, const char *p, size_t len)
{
	struct kc_line *l = &vm->line[fd == 2];

	/* A line per pass.  Once the timer fired the run ends as timed out
	 * when this call returns: log nothing more on its time. */
	while (len > 0 && !kc_vm_timer_fired()) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len, room;

		if (!charge(vm, l, n, nl != NULL))
			return;
		room = sizeof(l->buf) - l->len;
		memcpy(l->buf + l->len, p, n < room ? n : room);
		l->len += n < room ? n : room;
		if (n >= room && !l->cut) { /* over-long: emit, drop the rest */
			line_emit(vm, fd, l);
			l->cut = true;
		}
		if (nl == NULL)
			break;
		line_emit(vm, fd, l);
		l->cut = false;
		p += n + 1;
		len -= n + 1;
	}
}

void kc_vm_output_flush(struct kc_vm *vm)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (vm->line[i].len && !vm->line[i].cut)
			line_emit(vm, i + 1, &vm->line[i]);
		vm->line[i].len = 0;
		vm->line[i].counted = 0;
		vm->line[i].cut = false;
	}
	vm->logged = 0; /* the next run has a budget of its own */
	vm->log_cut = false;
}

uint64_t kc_vm_charged(const struct kc_vm *vm)
{
	const struct kc_alloc *snap = &vm->img->alloc, *now = &vm->alloc;

	return (snap->mmap_min - now->mmap_min) +
	       (now->brk_high - snap->brk_high);
}

int kc_vm_new(struct kc_image *img, uint8_t *mem, const struct kc_alloc *alloc,
              const struct kvm_sregs *sregs, struct kc_files *files,
              kc_output_fn *out, void *out_ctx, struct kc_vm **vmp, char *err,
              size_t errlen)
{
	struct kc_vm *vm = files ? calloc(1, sizeof(*vm)) : NULL;
	int r;

	if (vm == NULL) {
		kc_files_free(files);
		snprintf(err, errlen, "out of memory for a VM");
		return -ENOMEM;
	}
	vm->vm_fd = vm->vcpu_fd = -1; /* nothing for kc_vm_destroy to close */
	kc_image_get(img);
	vm->img = img;
	vm->mem = mem;
	vm->out = out;
	vm->out_ctx = out_ctx;
	vm->alloc = *alloc;
	vm->files = files;
	r = kc_vm_init_restore(vm);
	if (r)
		snprintf(err, errlen, "out of memory for a VM");
	else
		r = kc_vm_open_kvm(vm, sregs, err, errlen);
	if (r) {
		vm->mem = NULL; /* the caller's still */
		kc_vm_destroy(vm);
		return r;
	}
	*vmp = vm;
	return 0;
}

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

void kc_vm_destroy(struct kc_vm *vm)
{
	if (vm == NULL)
		return;
	kc_vm_close_kvm(vm);
	if (vm->mem)
		munmap(vm->mem, vm->img->lay.mem_size);
	kc_image_put(vm->img);
	kc_files_free(vm->files);
	free(vm->restore.bits);
	free(vm->restore.pages);
	free(vm);
}

int kc_vm_init_restore(struct kc_vm *vm)
{
	vm->restore.bits = calloc(vm->img->lay.mem_size / KC_PAGE_SIZE / 64, 8);
	return vm->restore.bits ? 0 : -ENOMEM;
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
