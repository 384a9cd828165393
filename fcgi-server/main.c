/* kvm-fpm: the command line.  `run` serves URLs from one program; the
 * prefork FastCGI/SCGI daemon is not built yet (issue 3). */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "run.h"

#define KVM_FPM_VERSION "0.1.0"

static int help(FILE *out)
{
	fprintf(
	    out,
	    "usage: kvm-fpm run [--KEY=VALUE...] PROGRAM URL...\n"
	    "       kvm-fpm -t -c FILE   check a configuration\n"
	    "       kvm-fpm -T -c FILE   print the effective configuration\n"
	    "       kvm-fpm --help | --version\n");
	return out == stdout ? 0 : 2;
}

static int check_config(const char *path, int print)
{
	struct fs_conf c;
	char err[512];
	int r;

	if (fs_conf_init(&c))
		return 1;
	r = fs_conf_load(path, &c, err, sizeof(err));
	if (r) {
		fprintf(stderr, "kvm-fpm: %s\n", err);
	} else if (print) {
		fs_conf_print(&c, stdout);
	} else {
		fprintf(stderr, "kvm-fpm: %s: configuration OK (%zu tenants)\n",
		        path, c.tenant_count);
	}
	fs_conf_free(&c);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	int test = 0, print = 0, i;

	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return fs_run_main(argc - 1, argv + 1);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return help(stdout);
		if (strcmp(argv[i], "--version") == 0) {
			printf("kvm-fpm %s\n", KVM_FPM_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "-t") == 0)
			test = 1;
		else if (strcmp(argv[i], "-T") == 0)
			print = 1;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else
			return help(stderr);
	}
	if ((test || print) && conf)
		return check_config(conf, print);
	fprintf(stderr, "kvm-fpm: the FastCGI/SCGI daemon is not implemented "
	                "yet; see `kvm-fpm --help`\n");
	return 2;
}
