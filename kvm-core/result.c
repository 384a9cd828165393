/* How a run ends: its status and the error for the log (faults
 * described), and the guest's output lines, charged to its budget. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kc_elf.h"
#include "kc_gmem.h"
#include "kc_result.h"
#include "kc_timer.h"
#include "kc_vm.h"

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
