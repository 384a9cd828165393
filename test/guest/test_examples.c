/* Well-behaved tenants: the examples and the contract they rely on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

#define P(name) "build/programs/" name

Test(examples, hello)
{
	struct guest g;

	guest_boot(&g, "tenant-sdk/examples/hello", NULL);
	cr_assert_eq(guest_get(&g, "/a<b"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 200);
	cr_assert(strstr(guest_body(&g), "Hello from kvm-fpm"));
	cr_assert(strstr(guest_body(&g), "/a&lt;b"));
	cr_assert_eq(g.res.headers.len,
	             strlen("Cache-Control: public, max-age=60\r\n"));
	guest_free(&g);
}

Test(examples, counter_sees_snapshot_every_time)
{
	struct guest g;
	int i;

	guest_boot(&g, "tenant-sdk/examples/counter", NULL);
	for (i = 0; i < 50; i++) {
		cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
		cr_assert_str_eq(guest_body(&g), "counter=43\n");
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	guest_free(&g);
}

/* Raw scanlines of the 256x256 RGB pizza: what a stored-deflate PNG held
 * plus its block headers. */
#define PNG_RAW_LEN (256 * (1 + 3 * 256))

Test(examples, png_is_a_zlib_compressed_png)
{
	static const unsigned char sig[8] = {0x89, 'P',  'N',  'G',
	                                     '\r', '\n', 0x1a, '\n'};
	char path[] = "/tmp/kc-png-XXXXXX", cmd[1024];
	struct guest g;
	FILE *f;
	int fd;

	guest_boot(&g, "tenant-sdk/examples/png", NULL);
	cr_assert_eq(guest_get(&g, "/pepperoni"), KC_OK, "%s", g.res.error);
	cr_assert_eq(strncmp(g.res.content_type.ptr, "image/png", 9), 0);
	cr_assert_gt(g.res.body.len, 33);
	cr_assert_eq(memcmp(g.res.body.ptr, sig, 8), 0);
	cr_assert_eq(memcmp(g.res.body.ptr + 12, "IHDR", 4), 0);
	/* Compressed: well under the raw scanlines stored deflate carried. */
	cr_assert_lt(g.res.body.len, PNG_RAW_LEN / 2, "%zu bytes",
	             g.res.body.len);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_eq(fwrite(g.res.body.ptr, 1, g.res.body.len, f),
	             g.res.body.len);
	fclose(f);
	/* Every chunk's CRC, and the IDAT inflating (zlib checks its Adler-32)
	 * to 256 rows of filter byte 0 and 768 bytes of RGB. */
	snprintf(cmd, sizeof(cmd),
	         "python3 -c 'import sys, struct, zlib\n"
	         "b = open(sys.argv[1], \"rb\").read(); i = 8; idat = b\"\"\n"
	         "while i < len(b):\n"
	         " n, t = struct.unpack(\">I4s\", b[i:i + 8])\n"
	         " d = b[i + 8:i + 8 + n]\n"
	         " assert zlib.crc32(t + d) == struct.unpack(\">I\", "
	         "b[i + 8 + n:i + 12 + n])[0], t\n"
	         " idat += d if t == b\"IDAT\" else b\"\"; i += 12 + n\n"
	         "assert t == b\"IEND\" and i == len(b)\n"
	         "raw = zlib.decompress(idat)\n"
	         "assert len(raw) == %d and raw[::769] == bytes(256)' %s",
	         PNG_RAW_LEN, path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	unlink(path);
	guest_free(&g);
}

/* A data_dir holding a copy of the menu's database (built by make). */
static void menu_data_dir(char *dir, char *db)
{
	char cmd[256];

	strcpy(dir, "/tmp/kc-menu-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	sprintf(db, "%s/menu.db", dir);
	snprintf(cmd, sizeof(cmd),
	         "cp tenant-sdk/examples/menu-data/menu.db %s", db);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void menu_get(struct guest *g, const char *url, const char *body)
{
	cr_assert_eq(guest_get(g, url), KC_OK, "%s: %s", url, g->res.error);
	cr_assert_eq(g->res.http_status, 200, "%s", url);
	cr_assert_str_eq(guest_body(g), body, "%s", url);
	cr_assert_eq(kc_vm_reset(g->vm), 0);
}

Test(examples, menu_searches_its_database)
{
	struct kc_limits lim;
	struct guest g;
	char dir[32], db[64];

	menu_data_dir(dir, db);
	kc_limits_default(&lim);
	lim.data_dir = dir;
	guest_boot(&g, "tenant-sdk/examples/menu", &lim);
	menu_get(
	    &g, "/search?q=ham",
	    "Capricciosa, \u20ac12.00: tomato, mozzarella, ham, mushrooms, "
	    "artichokes, olives\n"
	    "Hawaii, \u20ac10.00: tomato, mozzarella, ham, pineapple\n"
	    "Calzone, \u20ac11.50: mozzarella, ricotta, ham, mushrooms\n");
	menu_get(&g, "/search?q=Spicy%20SALAMI",
	         "Diavola, \u20ac11.00: tomato, mozzarella, spicy salami, "
	         "chili\n");
	menu_get(&g, "/search?q=kebab", "no pizza with \"kebab\"\n");
	/* The database was opened in main(): the snapshot reads it still. */
	cr_assert_eq(unlink(db), 0);
	cr_assert_eq(rmdir(dir), 0);
	menu_get(&g, "/search?x=1&q=funghi",
	         "Funghi, \u20ac9.50: tomato, mozzarella, mushrooms\n");
	cr_assert_eq(guest_get(&g, "/search"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 400);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	/* The pages rendered from it in main(). */
	cr_assert_eq(guest_get(&g, "/pizza/margherita"), KC_OK);
	cr_assert(strstr(guest_body(&g),
	                 "<p>&euro;8.50</p>\n<p>tomato, mozzarella, basil</p>"),
	          "%s", guest_body(&g));
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/menu.json"), KC_OK);
	cr_assert(strstr(guest_body(&g),
	                 "{\"slug\":\"calzone\",\"name\":\"Calzone\","
	                 "\"price_cents\":1150,\"ingredients\":[\"mozzarella\","
	                 "\"ricotta\",\"ham\",\"mushrooms\"]}]}\n"),
	          "%s", guest_body(&g));
	guest_free(&g);
}

Test(examples, menu_without_its_database_does_not_load)
{
	struct kc_limits lim;
	struct guest g;
	char dir[32], db[64];

	menu_data_dir(dir, db);
	cr_assert_eq(unlink(db), 0);
	kc_limits_default(&lim);
	lim.data_dir = dir;
	guest_boot(&g, "tenant-sdk/examples/menu", &lim);
	cr_assert_neq(g.boot, 0);
	guest_free(&g);
	rmdir(dir);
}

Test(examples, fault_tenant_recovers_between_failures)
{
	static const struct {
		const char *url;
		enum kc_status st;
	} seq[] = {
	    {"/", KC_OK}, {"/crash", KC_ERR_FAULT},
	    {"/", KC_OK}, {"/oom", KC_ERR_OOM},
	    {"/", KC_OK}, {"/exit", KC_ERR_EXIT},
	    {"/", KC_OK},
	};
	struct kc_limits lim;
	struct guest g;
	size_t i;

	guest_limits_default(&lim);
	guest_boot(&g, "tenant-sdk/examples/fault", &lim);
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		cr_assert_eq(guest_get(&g, seq[i].url), seq[i].st, "%s: %s",
		             seq[i].url, g.res.error);
		if (seq[i].st == KC_OK)
			cr_assert_str_eq(guest_body(&g), "ok\n");
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	guest_free(&g);
}

Test(contract, headers_and_status)
{
	struct guest g;

	guest_boot(&g, P("headers"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 201);
	cr_assert_str_eq(guest_body(&g), "bad_name=-1 inject=-1\n");
	cr_assert_eq(g.res.headers.len,
	             strlen("X-Tenant: yes\r\nSet-Cookie: a=b\r\n"));
	cr_assert_eq(memcmp(g.res.headers.ptr,
	                    "X-Tenant: yes\r\nSet-Cookie: a=b\r\n",
	                    g.res.headers.len),
	             0);
	guest_free(&g);
}

Test(contract, output_reaches_the_log_as_lines)
{
	struct guest g;

	guest_boot(&g, P("printf"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(g.output, "1:hello from guest 42\n2:warn\n");
	guest_free(&g);
}

Test(contract, time_and_randomness)
{
	struct guest g;

	guest_boot(&g, P("time_random"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "time_ok=1 mono_ok=1 random_ok=1\n");
	guest_free(&g);
}

Test(contract, eight_megabyte_response)
{
	struct guest g;
	size_t i;

	guest_boot(&g, P("big_response"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.body.len, 8u << 20);
	for (i = 0; i < g.res.body.len; i++)
		if ((unsigned char)g.res.body.ptr[i] != i % 251)
			cr_assert_fail("byte %zu is wrong", i);
	guest_free(&g);
}

Test(isolation, ten_thousand_requests)
{
	struct guest g;
	long rss100 = 0;
	int i, emulator_errors = 0;

	guest_boot(&g, P("isolation"), NULL);
	for (i = 0; i < 10000; i++) {
		if (guest_get(&g, "/") != KC_OK && guest_emulator_error(&g) &&
		    ++emulator_errors <= 2) {
			cr_log_warn("request %d: %s (the emulator's, allowed)",
			            i, g.res.error);
			cr_assert_eq(kc_vm_reset(g.vm), 0);
			continue;
		}
		cr_assert_eq(g.res.status, KC_OK, "request %d: %s", i,
		             g.res.error);
		if (strcmp(guest_body(&g), "clean\n") != 0)
			cr_assert_fail("request %d: %s", i, guest_body(&g));
		cr_assert_eq(kc_vm_reset(g.vm), 0);
		if (i == 99)
			rss100 = guest_rss_kib();
	}
#ifndef __SANITIZE_ADDRESS__
	/* The leak check is the plain build's: ASan's allocator keeps memory
	 * it does not give back on a purge (7 MiB more after 10,000
	 * requests in one run in the emulated VM, where the plain build
	 * grew by less than 1 MiB). */
	cr_assert_lt(labs(guest_rss_kib() - rss100), 1024,
	             "RSS %ld KiB after 100, %ld after 10000", rss100,
	             guest_rss_kib());
#else
	(void)rss100;
#endif
	guest_free(&g);
}

/* The reset is the caller's, once its answer is out: a request on a VM
 * that was not reset is refused with nothing run (the last answer, in
 * guest memory, still readable), and after the reset the VM serves on. */
Test(isolation, request_on_an_unreset_vm_is_refused)
{
	struct kc_request req = guest_request("/");
	struct kc_vm_stats before, after;
	struct kc_result again;
	struct guest g;

	guest_boot(&g, P("isolation"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "clean\n");
	kc_vm_stats(g.vm, &before);
	cr_assert_eq(kc_vm_request(g.vm, &req, &again), KC_ERR_INTERNAL, "%s",
	             again.error);
	cr_assert_eq(again.status, KC_ERR_INTERNAL);
	cr_assert_str_eq(again.error, "the VM was not reset after its last "
	                              "request (kc_vm_reset)");
	kc_vm_stats(g.vm, &after);
	cr_assert_eq(after.requests, before.requests, "nothing ran");
	cr_assert_eq(after.exits, before.exits, "nothing ran");
	cr_assert_str_eq(guest_body(&g), "clean\n", "the answer is intact");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "clean\n");
	guest_free(&g);
}

/* A request that allocates 56 MiB goes past the memory slots a VM starts
 * with (the snapshot's allocations and 2 MiB each side, see
 * kc_slots_plan): KVM must back the new pages at once, and the next
 * request must find the snapshot again.  On the VM kept from boot (its
 * slots grew while main() allocated) and on a VM created on the image. */
static void grow_twice(struct guest *g)
{
	struct kc_vm_stats st;
	uint64_t grows;
	int i;

	kc_vm_stats(g->vm, &st);
	grows = st.slot_grows;
	for (i = 0; i < 3; i++) {
		cr_assert_eq(guest_get(g, "/"), KC_OK, "request %d: %s", i,
		             g->res.error);
		cr_assert_str_eq(guest_body(g), "clean 56 MiB\n",
		                 "request %d: %s", i, guest_body(g));
		cr_assert_eq(kc_vm_reset(g->vm), 0);
		kc_vm_stats(g->vm, &st);
		if (i == 0)
			cr_assert_gt(st.slot_grows, grows, "no slot grew");
		else /* grown slots stay: no more ioctls */
			cr_assert_eq(st.slot_grows, grows, "request %d", i);
		grows = st.slot_grows;
	}
}

Test(memory, allocations_past_the_slots)
{
	struct kc_vm_stats st;
	struct guest g;
	char err[256];

	guest_boot(&g, P("grow_memory"), NULL);
	cr_assert_eq(g.boot, 0, "boot failed: %s", g.err);
	kc_vm_stats(g.vm, &st);
	cr_assert_gt(st.slot_grows, 0, "main() grew no slot");
	grow_twice(&g);
	kc_vm_destroy(g.vm);
	g.vm = NULL;
	cr_assert_eq(kc_vm_create(g.img, NULL, NULL, &g.vm, err, sizeof(err)),
	             0, "%s", err);
	grow_twice(&g);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	guest_free(&g);
}

/* A program that nearly fills max_memory: the two slots meet. */
Test(memory, program_filling_max_memory)
{
	struct kc_limits lim;
	struct guest g;
	int i;

	kc_limits_default(&lim);
	lim.max_memory = 16 << 20;
	lim.stack_size = 64 << 10;
	lim.max_body_size = 64 << 10;
	guest_boot(&g, P("full_memory"), &lim);
	cr_assert_eq(g.boot, 0, "boot failed: %s", g.err);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
		cr_assert_str_eq(guest_body(&g), "full 11 MiB\n");
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	guest_free(&g);
}
