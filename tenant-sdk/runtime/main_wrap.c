/* main() returning 0 means "ready": kvm-fpm-cc and kvm-fpm-c++ link with
 * --wrap=main.  Its own object, so that a program linked without the wrap
 * (Rust, whose main is the standard library's) does not need __real_main. */
#include <stdlib.h>

#include "kvm-fpm.h"

int __real_main(int argc, char **argv, char **envp);
int __wrap_main(int argc, char **argv, char **envp);

int __wrap_main(int argc, char **argv, char **envp)
{
	int status = __real_main(argc, argv, envp);

	if (status != 0)
		exit(status);
	wait_for_requests();
}
