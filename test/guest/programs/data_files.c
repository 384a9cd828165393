/* Files from the tenant's data_dir (/data): main() opens /data/words and
 * reads its first word, so the snapshot holds the file at offset 6.
 * "/" reads on from there (readv), "/open" opens another file and leaves it
 * open,
 * "/fd4" says whether fd 4 is open, "/list" lists /data. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kvm-fpm.h"

static int words = -1;
static char first[8];

static void list(char *out, size_t len)
{
	DIR *d = opendir("/data");
	struct dirent *e;

	out[0] = 0;
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' &&
		    strlen(out) + strlen(e->d_name) + 2 < len) {
			strcat(out, e->d_name);
			strcat(out, " ");
		}
	if (d)
		closedir(d);
}

void my_backend(const char *url)
{
	char body[256], rest[64] = "";
	ssize_t n;

	if (strcmp(url, "/open") == 0) {
		snprintf(body, sizeof(body), "fd=%d\n",
		         open("/data/sub/other", O_RDONLY));
		backend_response_str(200, "text/plain", body);
	}
	if (strcmp(url, "/fd4") == 0) {
		snprintf(body, sizeof(body), "fd4=%d\n", fcntl(4, F_GETFD));
		backend_response_str(200, "text/plain", body);
	}
	if (strcmp(url, "/list") == 0) {
		list(body, sizeof(body));
		backend_response_str(200, "text/plain", body);
	}
	/* In two pieces, as stdio and C++ streams read (readv). */
	n = readv(words,
	          (struct iovec[]){{rest, 5}, {rest + 5, sizeof(rest) - 6}}, 2);
	rest[n > 0 ? n : 0] = 0;
	snprintf(body, sizeof(body), "first=%s rest=%s write=%d\n", first, rest,
	         open("/data/words", O_WRONLY));
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	words = open("/data/words", O_RDONLY);
	if (words != 3 || read(words, first, 6) != 6)
		return 1;
	first[5] = 0;
	return 0;
}
