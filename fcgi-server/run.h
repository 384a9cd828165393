/* `kvm-fpm run`: a tenant author's runner on the server's code path. */
#ifndef FS_RUN_H
#define FS_RUN_H

/* kvm-fpm run [--KEY=VALUE...] PROGRAM URL...; returns the exit code. */
int fs_run_main(int argc, char **argv);

#endif
