/* The guest/host ABI of kvm-fpm: shared, unchanged, by the tenant runtime
 * and by the monitor (kvm-core).  Only append; never renumber. */
#ifndef KVM_FPM_ABI_H
#define KVM_FPM_ABI_H

#include <stdint.h>

/* Bumped on any incompatible change; the loader refuses other versions. */
#define KFPM_ABI_VERSION 1

/* Every SDK program carries an ELF note (name "kvm-fpm", this type) whose
 * 4-byte descriptor is KFPM_ABI_VERSION. */
#define KFPM_NOTE_NAME "kvm-fpm"
#define KFPM_NOTE_TYPE 0x4b460001u

/*
 * Hypercalls are the `syscall` instruction with rax = KFPM_CALL_BASE + call
 * and one argument in rdi; numbers below KFPM_CALL_BASE are Linux system
 * calls, emulated by the monitor.
 */
#define KFPM_CALL_BASE 0x4b460000u

/*
 * The same calls can be made by jumping to KFPM_CALL_ENTRY with rcx = the
 * return address and r11 = the rflags to return with; rax and rdi as for
 * `syscall`.  That is the monitor's system-call path without the syscall
 * instruction, which some hosts (PVM) emulate slowly.
 */
#define KFPM_CALL_ENTRY 0x4020u

enum kfpm_call {
	KFPM_CALL_RESERVED = 0,
	/* rdi = struct kfpm_ready *: main() is done, snapshot here. */
	KFPM_CALL_READY = 1,
	/* rdi = struct kfpm_response *: the request's answer; never returns. */
	KFPM_CALL_RESPONSE = 2,
	/* no argument: stop for the debugger when one may attach. */
	KFPM_CALL_BREAKPOINT = 3,
	KFPM_CALL_MAX
};

/* A string in guest memory: pointer and length, NUL-terminated as well. */
struct kfpm_str {
	uint64_t ptr;
	uint64_t len;
};

struct kfpm_header {
	struct kfpm_str name; /* lower case, '-' separated: "user-agent" */
	struct kfpm_str value;
};

/* Written by the host into guest memory before each request; read-only to
 * the guest.  All pointers point inside the same read-only area. */
struct kfpm_request {
	uint32_t abi_version;
	uint32_t header_count;
	struct kfpm_str method;
	struct kfpm_str uri; /* path and query, as sent: "/a/b?x=1" */
	struct kfpm_str query;
	struct kfpm_str remote_addr;
	struct kfpm_str body;
	uint64_t headers; /* struct kfpm_header[header_count] */
};

/* Argument of KFPM_CALL_READY. */
struct kfpm_ready {
	uint32_t abi_version;
	uint32_t reserved;
	uint64_t entry;   /* void entry(const struct kfpm_request *) */
	uint64_t backend; /* my_backend, or 0 when the program has none */
};

/* Argument of KFPM_CALL_RESPONSE.  status 0 means my_backend returned
 * without answering. */
struct kfpm_response {
	uint32_t status;
	uint32_t reserved;
	struct kfpm_str content_type;
	struct kfpm_str headers; /* "Name: value\r\n" lines */
	struct kfpm_str body;
};

_Static_assert(sizeof(struct kfpm_str) == 16, "kfpm_str layout");
_Static_assert(sizeof(struct kfpm_header) == 32, "kfpm_header layout");
_Static_assert(sizeof(struct kfpm_request) == 96, "kfpm_request layout");
_Static_assert(sizeof(struct kfpm_ready) == 24, "kfpm_ready layout");
_Static_assert(sizeof(struct kfpm_response) == 56, "kfpm_response layout");

#endif
