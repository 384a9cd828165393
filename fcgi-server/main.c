/* kvm-fpm: the command line: the prefork FastCGI/SCGI server, `run` for
 * tenant authors, and configuration checks. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "run.h"

#define KVM_FPM_VERSION "0.1.0"

static int help(FILE *out)
{
	fprintf(
	    out,
	    "usage: kvm-fpm run [--KEY=VALUE...] PROGRAM URL...\n"
	    "       kvm-fpm [-F] [-R] -c FILE [-d KEY=VALUE...]   serve\n"
	    "                            (-F: foreground, -R: workers may run\n"
	    "                            as root, -d: a [global] KEY over the\n"
	    "                            file's, on every reload too)\n"
	    "       kvm-fpm -t -c FILE [-d KEY=VALUE...]   check a "
	    "configuration\n"
	    "       kvm-fpm -T -c FILE [-d KEY=VALUE...]   print the effective "
	    "configuration\n"
	    "       kvm-fpm --help | --version\n");
	return out == stdout ? 0 : 2;
}

/* Leave the terminal: the usual daemon dance, the parent exits. */
static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fs_log_fd() != 2)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

/* The command line's -d KEY=VALUE settings, in order. */
struct defines {
	char **v;
	size_t n;
};

static int serve(const char *path, const struct defines *d, int foreground,
                 bool allow_root)
{
	struct fs_conf c;
	char err[512];
	int inherited = -1, r;

	if (fs_conf_load_defs(path, d->v, d->n, &c, err, sizeof(err))) {
		fprintf(stderr, "kvm-fpm: %s\n", err);
		return 1;
	}
	if (fs_log_open(c.log, c.log_level) || fs_access_open(c.access_log)) {
		fprintf(stderr, "kvm-fpm: cannot open the log files\n");
		fs_conf_free(&c);
		return 1;
	}
	/* spawn-fcgi hands over a bound, listening socket as fd 0. */
	if (fs_listen_is_socket(0)) {
		inherited = dup(0);
		foreground = 1;
	}
	if (!foreground && daemonize()) {
		fs_conf_free(&c);
		return 1;
	}
	r = fs_master_run(&c, path, inherited, allow_root);
	fs_conf_free(&c);
	return r;
}

static int check_config(const char *path, const struct defines *d, int print)
{
	struct fs_conf c;
	char err[512];
	int r;

	r = fs_conf_load_defs(path, d->v, d->n, &c, err, sizeof(err));
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
	int test = 0, print = 0, foreground = 0, i;
	bool allow_root = false;
	/* At most one -d per two arguments; argv outlives them. */
	char *defs[argc > 0 ? argc : 1];
	struct defines d = {defs, 0};

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
		else if (strcmp(argv[i], "-F") == 0)
			foreground = 1;
		else if (strcmp(argv[i], "-R") == 0 ||
		         strcmp(argv[i], "--allow-to-run-as-root") == 0)
			allow_root = true; /* PHP-FPM's flag */
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			d.v[d.n++] = argv[++i]; /* PHP-FPM's -d, nginx's -g */
		else
			return help(stderr);
	}
	if (conf == NULL)
		return help(stderr);
	if (test || print)
		return check_config(conf, &d, print);
	return serve(conf, &d, foreground, allow_root);
}
