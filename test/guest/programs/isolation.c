/* Checks that no request sees another's writes; answers "clean\n" if so. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

#define ARRAY_LEN (64 * 1024)
#define HEAP_LEN  (64 * 1024)
#define FRESH_LEN (256 * 1024)
#define STACK_LEN (16 * 1024)

static int counter;
static unsigned char array[ARRAY_LEN];
static unsigned char *heap;

static unsigned char pattern(size_t i, unsigned salt)
{
	return (unsigned char)((i * 7 + salt) ^ (i >> 8));
}

static int has_pattern(const unsigned char *p, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(i, salt))
			return 0;
	return 1;
}

static void keep(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Memory the request took itself is new: a fresh 256 KiB (an mmap in
 * musl) must be all zero, not left over from the previous request. */
static int fresh_is_zero(unsigned char *p)
{
	for (size_t i = 0; i < FRESH_LEN; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

void my_backend(const char *url)
{
	char dirty[128] = "dirty:";
	volatile unsigned char stack_buf[STACK_LEN];
	unsigned char *fresh;

	(void)url;
	if (counter != 7)
		strcat(dirty, " counter");
	if (!has_pattern(array, ARRAY_LEN, 3))
		strcat(dirty, " array");
	if (!has_pattern(heap, HEAP_LEN, 5))
		strcat(dirty, " heap");

	/* Spoil everything for the next request to find. */
	counter++;
	memset(array, 0xee, ARRAY_LEN);
	memset(heap, 0xee, HEAP_LEN);
	keep(array);
	keep(heap);
	fresh = malloc(FRESH_LEN);
	if (fresh == NULL)
		strcat(dirty, " malloc-failed");
	else if (!fresh_is_zero(fresh))
		strcat(dirty, " fresh-malloc");
	if (fresh) {
		memset(fresh, 0xee, FRESH_LEN);
		keep(fresh);
	}
	for (size_t i = 0; i < STACK_LEN; i++)
		stack_buf[i] = 0xee;
	keep((const void *)stack_buf);

	if (strcmp(dirty, "dirty:") == 0)
		backend_response_str(200, "text/plain", "clean\n");
	strcat(dirty, "\n");
	backend_response_str(500, "text/plain", dirty);
}

int main(void)
{
	counter = 7;
	for (size_t i = 0; i < ARRAY_LEN; i++)
		array[i] = pattern(i, 3);
	heap = malloc(HEAP_LEN);
	if (heap == NULL)
		return 1;
	for (size_t i = 0; i < HEAP_LEN; i++)
		heap[i] = pattern(i, 5);
	return 0;
}
