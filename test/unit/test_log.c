/* The logs: whatever tenants and clients put into a record, it is one
 * line with the bytes they chose escaped; and the max_log_size key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "escape.h"
#include "log.h"

static char path[] = "/tmp/kvm-fpm-test-log.XXXXXX";
static char text[8192];

static void make_log(void)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
}

static void drop_log(void)
{
	unlink(path);
}

/* The log's lines; returns how many. */
static int read_log(void)
{
	FILE *f = fopen(path, "r");
	size_t n;
	int lines = 0;

	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	return lines;
}

static const char *esc(const char *s, size_t len, const char *extra)
{
	static char buf[256];

	fs_escape(buf, sizeof(buf), s, len, extra);
	return buf;
}

Test(escape, controls_del_and_extra)
{
	cr_assert_str_eq(esc("a\nb\r\033[31m\x7f", 10, ""),
	                 "a\\x0ab\\x0d\\x1b[31m\\x7f");
	cr_assert_str_eq(esc("nul\0end", 7, ""), "nul\\x00end");
	cr_assert_str_eq(esc("a \"b\\", 5, "\"\\ "), "a\\x20\\x22b\\x5c");
	cr_assert_str_eq(esc("tab\there", 8, ""), "tab\\x09here");
}

Test(escape, utf8_stays_unless_malformed_or_invisible)
{
	cr_assert_str_eq(
	    esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x95", 14, ""),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x95");
	/* stray continuation, overlong '/', surrogate, past U+10FFFF, cut */
	cr_assert_str_eq(esc("\x80", 1, ""), "\\x80");
	cr_assert_str_eq(esc("\xc0\xaf", 2, ""), "\\xc0\\xaf");
	cr_assert_str_eq(esc("\xed\xa0\x80", 3, ""), "\\xed\\xa0\\x80");
	cr_assert_str_eq(esc("\xf4\x90\x80\x80", 4, ""),
	                 "\\xf4\\x90\\x80\\x80");
	cr_assert_str_eq(esc("\xe2\x82", 2, ""), "\\xe2\\x82");
	/* C1 CSI, line separator, right-to-left override */
	cr_assert_str_eq(esc("\xc2\x9b", 2, ""), "\\xc2\\x9b");
	cr_assert_str_eq(esc("\xe2\x80\xa8", 3, ""), "\\xe2\\x80\\xa8");
	cr_assert_str_eq(esc("\xe2\x80\xae", 3, ""), "\\xe2\\x80\\xae");
}

Test(escape, never_splits_an_escape)
{
	char buf[8];

	cr_assert_eq(fs_escape(buf, sizeof(buf), "ab\n\n", 4, ""), 6);
	cr_assert_str_eq(buf, "ab\\x0a");
	cr_assert_eq(fs_escape(buf, 1, "ab", 2, ""), 0);
	cr_assert_str_eq(buf, "");
}

TestSuite(log, .init = make_log, .fini = drop_log);

Test(log, guest_output_is_one_line_per_line)
{
	static const char line[] = "cr\r esc\033[31m nul\0 del\x7f";

	cr_assert_eq(fs_log_open(path, LOG_DEBUG), 0);
	fs_log_guest("evil.test", 1, line, sizeof(line) - 1);
	fs_log_guest("evil.test", 2, "\n2026-01-01T00:00:00Z [notice] forged",
	             37);
	cr_assert_eq(read_log(), 2, "%s", text);
	cr_assert(strstr(text, "] evil.test: stdout: cr\\x0d esc\\x1b[31m "
	                       "nul\\x00 del\\x7f\n"),
	          "%s", text);
	cr_assert(strstr(text, "] evil.test: stderr: \\x0a2026-01-01T00:00:00Z "
	                       "[notice] forged\n"),
	          "%s", text);
}

Test(log, cut_note_is_a_warning_of_its_own)
{
	cr_assert_eq(fs_log_open(path, LOG_NOTICE), 0);
	fs_log_guest("t.test", 0, "output cut", 10);
	cr_assert_eq(read_log(), 1);
	cr_assert(strstr(text, " [warning] [pid "), "%s", text);
	cr_assert(strstr(text, "] t.test: output cut\n"), "%s", text);
}

Test(log, messages_with_client_text_are_escaped)
{
	cr_assert_eq(fs_log_open(path, LOG_DEBUG), 0);
	fs_log(LOG_WARNING, "t.test", "GET %s: fault: %s", "/a\nb",
	       "page fault at RIP 0x401000 <evil\x1b]0;x\x07>");
	cr_assert_eq(read_log(), 1, "%s", text);
	cr_assert(strstr(text, "t.test: GET /a\\x0ab: fault: page fault at "
	                       "RIP 0x401000 <evil\\x1b]0;x\\x07>\n"),
	          "%s", text);
}

Test(log, access_log_fields_are_escaped)
{
	cr_assert_eq(fs_access_open(path), 0);
	fs_access_log("127.0.0.1", "evil.test", "GET",
	              "/x\r\n2026-01-01T00:00:00Z 1.2.3.4 a \"GET /\" 200", 200,
	              5, 7);
	fs_access_log("1.2.3.4 x", "h\x01", "G T", "/\"q\\", 404, 0, 1);
	cr_assert_eq(read_log(), 2, "%s", text);
	cr_assert(strstr(text, " 127.0.0.1 evil.test \"GET "
	                       "/x\\x0d\\x0a2026-01-01T00:00:00Z\\x201.2.3.4"
	                       "\\x20a\\x20\\x22GET\\x20/\\x22\\x20200\" 200 5 "
	                       "7us\n"),
	          "%s", text);
	cr_assert(strstr(text, " 1.2.3.4\\x20x h\\x01 \"G\\x20T /\\x22q\\x5c\" "
	                       "404 0 1us\n"),
	          "%s", text);
}

Test(log, max_log_size_key)
{
	struct fs_tenant_conf t;
	char err[256];

	fs_conf_tenant_init(&t);
	cr_assert_eq(t.limits.max_log_size, 64 << 10);
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "max_log_size", "4K", err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(t.limits.max_log_size, 4096);
	cr_assert_neq(
	    fs_conf_tenant_set(&t, "max_log_size", "lots", err, sizeof(err)),
	    0);
	fs_conf_tenant_free(&t);
}
