/* Helpers for guest tests: boot a program, run requests, skip without
 * /dev/kvm (a failure when CI=true). */
#ifndef TEST_GUEST_H
#define TEST_GUEST_H

#include <criterion/criterion.h>

#include "kc.h"

struct guest {
	struct kc_image *img;
	struct kc_vm *vm;
	struct kc_result res;
	char err[512];
	int boot;
	char output[4096]; /* guest lines as "fd:line\n" */
	size_t output_len;
};

/* Skip (or fail under CI) when KVM cannot be used. */
void guest_require_kvm(void);

/* kc_limits_default, with the time limits stretched on a slow host
 * (KVM_FPM_TEST_TIME_SCALE, set where the CPU is emulated): for tests in
 * which the limit only bounds a request that should end by itself. */
void guest_limits_default(struct kc_limits *lim);

/* Boot path with lim (NULL: defaults); g->boot holds the result. */
void guest_boot(struct guest *g, const char *path, const struct kc_limits *lim);

/* A GET of url (its query split off) from 127.0.0.1. */
struct kc_request guest_request(const char *url);

/* One GET of url; returns the status, g->res holds the result. */
enum kc_status guest_get(struct guest *g, const char *url);

/* The body of the last result as a NUL-terminated copy (static buffer). */
const char *guest_body(struct guest *g);

void guest_free(struct guest *g);

/* Resident set size of this process, in KiB. */
long guest_rss_kib(void);

/*
 * Whether the last result is one of the emulator's own breaks, for a
 * program that never faults nor spins: under QEMU's nested SVM a request
 * now and then stands still until its limit with the vCPU at an address
 * of the VM's own kernel (the upper half, where no tenant VM maps
 * anything), or ends in a triple fault (README, "Testing without
 * /dev/kvm").  Always false on hardware (KVM_FPM_TEST_TIME_SCALE unset
 * or 1).
 */
bool guest_emulator_error(const struct guest *g);

#endif
