/* Unit tests for fs_conf: what `kvm-fpm -T` prints loads back (the faults
 * test/fuzz/fuzz_conf.c found), kept apart from test_conf.c for its size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_text.h"

/* Load text; err gets the message without the temporary file's name. */
static int load(const char *text, struct fs_conf *c, char *err, size_t n)
{
	char *path = conf_write(text);
	int rc = fs_conf_load(path, c, err, n);

	if (rc && !strncmp(err, path, strlen(path)))
		memmove(err, err + strlen(path),
		        strlen(err + strlen(path)) + 1);
	unlink(path);
	free(path);
	return rc;
}

/* text loads, prints, and the print loads back to the same print. */
static char *round_trip(const char *text)
{
	struct fs_conf a, b;
	char err[512], *once, *twice;

	cr_assert_eq(load(text, &a, err, sizeof(err)), 0, "%s", err);
	once = conf_print_text(&a);
	cr_assert_eq(load(once, &b, err, sizeof(err)), 0,
	             "printed config does not load: %s\n%s", err, once);
	twice = conf_print_text(&b);
	cr_assert_str_eq(once, twice);
	free(twice);
	fs_conf_free(&a);
	fs_conf_free(&b);
	return once;
}

static void expect_error(const char *text, const char *want)
{
	struct fs_conf c;
	char err[512];

	cr_assert_eq(load(text, &c, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, want);
}

/* Finding 1: listen.mode/owner/group only apply to a unix listen path;
 * the loader refuses them otherwise, so -T must not print them. */
Test(conf_print, tcp_listen_has_no_unix_keys)
{
	char *text = round_trip("[global]\nlisten = 127.0.0.1:9000\n");

	cr_assert_null(strstr(text, "listen.mode"), "%s", text);
	cr_assert_null(strstr(text, "listen.owner"), "%s", text);
	cr_assert_null(strstr(text, "listen.group"), "%s", text);
	free(text);
	text = round_trip("[global]\nlisten = [::1]:9000\n");
	cr_assert_null(strstr(text, "listen.mode"), "%s", text);
	free(text);
	text =
	    round_trip("[global]\nlisten = /run/x.sock\nlisten.mode = 0600\n");
	cr_assert_not_null(strstr(text, "\nlisten.mode = 0600\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nlisten.owner =\n"), "%s", text);
	free(text);
}

/* Finding 2: "key =;x" would load as ";x" and print as "key = ;x", which
 * inih reads as a comment. */
Test(conf_print, value_starting_a_comment)
{
	char *text;

	expect_error("[tenant:a.test]\nprogram =;x\n",
	             ":2: [tenant:a.test] program: \";x\" has a ';' that "
	             "would start a comment (put comments on a line of their "
	             "own)");
	expect_error("[global]\nlog =;\n",
	             ":2: [global] log: \";\" has a ';' that would start a "
	             "comment (put comments on a line of their own)");
	/* Within a word a ';' is text, and prints back as such. */
	text = round_trip("[tenant:a.test]\nprogram = a;b\n");
	cr_assert_not_null(strstr(text, "\nprogram = a;b\n"), "%s", text);
	free(text);
}

/* Finding 3: "key=value" near the 200-byte line limit loads, but prints
 * as "key = value", two bytes longer. */
Test(conf_print, long_values_fit_a_printed_line)
{
	char text[400], want[200];
	size_t room = 200 - sizeof(" = \n") - strlen("program");

	cr_assert_eq(room, 188);
	snprintf(text, sizeof(text), "[tenant:a.test]\nprogram=/%0*d\n",
	         (int)room, 0);
	snprintf(want, sizeof(want),
	         ":2: [tenant:a.test] program: \"/%.31s...\" is 189 bytes "
	         "long; a program line holds 188",
	         text + 25);
	expect_error(text, want);
	/* One byte less fits; the printed line is 199 bytes, newline
	 * included, the longest the loader reads. */
	snprintf(text, sizeof(text), "[tenant:a.test]\nprogram=/%0*d\n",
	         (int)room - 1, 0);
	free(round_trip(text));
}

/* Lists wrap, but an item starts a line: a long alias must fit there. */
Test(conf_print, long_alias_fits_a_printed_line)
{
	char text[400], host[200];
	size_t room = 200 - sizeof(" = \n") - strlen("aliases");

	/* room + 1 bytes of labels (63 each) and dots */
	memset(host, 'a', room + 1);
	host[63] = host[127] = '.';
	host[room + 1] = '\0';
	snprintf(text, sizeof(text),
	         "[tenant:a.test]\nprogram = p\naliases=%s\n", host);
	cr_assert_eq(strlen(text) - strlen("[tenant:a.test]\nprogram = p\n"),
	             198); /* the loader reads this line */
	expect_error(text, ":3: [tenant:a.test] aliases: \"aaaaaaaaaaaaaaaaa"
	                   "aaaaaaaaaaaaaaa...\" is 189 bytes long; a aliases "
	                   "line holds 188");
	host[room] = '\0';
	snprintf(text, sizeof(text),
	         "[tenant:a.test]\nprogram = p\naliases=%s\n", host);
	free(round_trip(text));
}

/* Values from elsewhere than a file (kvm-fpm run --KEY=) obey the same
 * rules: nothing is accepted that -T could not print back. */
Test(conf_print, tenant_set_refuses_what_cannot_print)
{
	struct fs_tenant_conf t;
	char err[256];

	fs_conf_tenant_init(&t);
	cr_assert_eq(fs_conf_tenant_set(&t, "program", " p", err, sizeof(err)),
	             -EINVAL);
	cr_assert_str_eq(err, "program: \" p\" starts or ends with a space");
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "data_dir", "/d ;x", err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(fs_conf_tenant_set(&t, "program", "p", err, sizeof(err)),
	             0);
	fs_conf_tenant_free(&t);
}
