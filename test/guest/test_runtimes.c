/* Tenants in glibc C, C++ and Rust, musl with Debian's libraries, and the
 * system calls their runtimes make (issue 12). */
#include <string.h>

#include "guest.h"

#define P(name) "build/programs/" name

Test(runtimes, system_calls_of_runtimes)
{
	struct guest g;

	guest_boot(&g, P("runtime_calls"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g),
	                 "wake=0 changed=-11 timed=-110 poll=3/1/4/20 "
	                 "stack=8192K cpus=1 exe=/tenant\n");
	guest_free(&g);
}

Test(runtimes, futex_wait_never_woken_is_a_deadlock)
{
	static const char *const urls[] = {"/deadlock", "/mutex"};
	struct guest g;
	int i;

	guest_boot(&g, P("runtime_calls"), NULL);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(guest_get(&g, urls[i]), KC_ERR_DEADLOCK, "%s: %s",
		             urls[i], g.res.error);
		cr_assert(strstr(g.res.error, "deadlock: futex wait on 0x"),
		          "%s", g.res.error);
		cr_assert(strstr(g.res.error, "no other thread to wake it"),
		          "%s", g.res.error);
		cr_assert_eq(kc_vm_reset(g.vm), 0);
		cr_assert_eq(guest_get(&g, "/"), KC_OK, "after %s: %s", urls[i],
		             g.res.error);
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	guest_free(&g);
}

Test(runtimes, abort_ends_the_request_with_its_signal)
{
	struct guest g;

	guest_boot(&g, P("runtime_calls"), NULL);
	cr_assert_eq(guest_get(&g, "/abort"), KC_ERR_EXIT, "%s", g.res.error);
	cr_assert_str_eq(g.res.error,
	                 "the request was killed by signal 6 (SIGABRT)");
	cr_assert_str_eq(g.output, "2:giving up\n");
	guest_free(&g);
}
