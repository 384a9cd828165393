/* glibc's fortify and LFS symbols for musl tenants: Debian's static
 * libraries (libz.a, libsqlite3.a, liblua5.4.a, libjansson.a) are built
 * against glibc with _FORTIFY_SOURCE and call these.  Each checks what
 * glibc checks and fails the way glibc does: a message, then abort(),
 * which ends the request (SIGABRT).  Written here because musl has no
 * such layer and no Debian package provides one. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noreturn)) static void chk_fail(const char *what)
{
	static const char pre[] = "*** ", post[] = " ***: terminated\n";

	/* write(), not stdio: the program's buffers may be what broke. */
	if (write(2, pre, sizeof(pre) - 1) < 0 ||
	    write(2, what, strlen(what)) < 0 ||
	    write(2, post, sizeof(post) - 1) < 0)
		abort();
	abort();
}

#define CHECK(need, room)                                                      \
	do {                                                                   \
		if ((room) < (need))                                           \
			chk_fail("buffer overflow detected");                  \
	} while (0)

void __chk_fail(void)
{
	chk_fail("buffer overflow detected");
}

void *__memcpy_chk(void *dst, const void *src, size_t len, size_t dstlen)
{
	CHECK(len, dstlen);
	return memcpy(dst, src, len);
}

void *__memmove_chk(void *dst, const void *src, size_t len, size_t dstlen)
{
	CHECK(len, dstlen);
	return memmove(dst, src, len);
}

void *__memset_chk(void *dst, int c, size_t len, size_t dstlen)
{
	CHECK(len, dstlen);
	return memset(dst, c, len);
}

char *__strcpy_chk(char *dst, const char *src, size_t dstlen)
{
	CHECK(strlen(src) + 1, dstlen);
	return strcpy(dst, src);
}

char *__strncpy_chk(char *dst, const char *src, size_t len, size_t dstlen)
{
	CHECK(len, dstlen);
	return strncpy(dst, src, len);
}

char *__strcat_chk(char *dst, const char *src, size_t dstlen)
{
	CHECK(strlen(dst) + strlen(src) + 1, dstlen);
	return strcat(dst, src);
}

/* flag asks glibc to refuse %n in writable formats; musl's printf does
 * not know the difference, so the size check is what remains. */
int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                    const char *fmt, va_list ap)
{
	(void)flag;
	CHECK(maxlen, slen);
	return vsnprintf(s, maxlen, fmt, ap);
}

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                   const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
	va_end(ap);
	return n;
}

/* sprintf into an object of known size: glibc stops at the end of the
 * object and fails; vsnprintf with that size tells the same story. */
int __vsprintf_chk(char *s, int flag, size_t slen, const char *fmt, va_list ap)
{
	int n;

	(void)flag;
	if (slen == 0)
		chk_fail("buffer overflow detected");
	n = vsnprintf(s, slen, fmt, ap);
	if (n >= 0 && (size_t)n >= slen)
		chk_fail("buffer overflow detected");
	return n;
}

int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __vsprintf_chk(s, flag, slen, fmt, ap);
	va_end(ap);
	return n;
}

int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(f, fmt, ap);
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __vfprintf_chk(f, flag, fmt, ap);
	va_end(ap);
	return n;
}

int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __vfprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return n;
}

/* glibc refuses a longjmp to a frame below the current one (a frame that
 * has returned).  The buffer was filled by musl's setjmp, whose saved
 * stack pointer is the seventh word. */
__attribute__((noreturn)) void __longjmp_chk(jmp_buf env, int val)
{
	const unsigned long *saved = (const unsigned long *)env;

	if (saved[6] < (unsigned long)__builtin_frame_address(0))
		chk_fail("longjmp causes uninitialized stack frame");
	longjmp(env, val);
}

/* glibc's name for fcntl with a 64-bit off_t: musl's off_t always is. */
int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}
