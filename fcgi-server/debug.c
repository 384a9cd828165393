/* Which requests run under the GDB stub (see debug.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "debug.h"
#include "key.h"
#include "log.h"

static void log_line(void *tenant, const char *msg)
{
	fs_log(LOG_NOTICE, tenant, "%s", msg);
}

static void refuse(struct fs_debug *d, const struct fs_tenant_conf *t,
                   int status, const char *message)
{
	d->status = status;
	d->message = message;
	fs_log(LOG_NOTICE, t->name, "X-Debug refused (%d): %.*s", status,
	       (int)strcspn(message, "\n"), message);
}

/* X-Debug: KEY.  Stop at my_backend and wait for GDB on the port. */
static void prepare_x_debug(struct fs_debug *d, const struct fs_conf *c,
                            const struct fs_tenant_conf *t, const char *key)
{
	int fd;

	if (!t->allow_debug)
		return refuse(d, t, 403,
		              "debugging is not allowed for this site\n");
	if (t->key == NULL || !fs_key_equal(t->key, key))
		return refuse(d, t, 403, "wrong debug key\n");
	if (c->debug_port == 0)
		return refuse(d, t, 403, "debugging is off (debug_port = 0)\n");
	fd = kc_gdb_listen((uint16_t)c->debug_port);
	if (fd == -EADDRINUSE)
		return refuse(d, t, 503,
		              "debugger busy: another request holds the "
		              "debug port\n");
	if (fd < 0)
		return refuse(d, t, 503, "cannot open the debug port\n");
	d->kc.listen_fd = fd;
	d->kc.stop_at_entry = true;
	d->kc.stop_on_fault = true;
	d->on = true;
}

void fs_debug_prepare(struct fs_debug *d, const struct fs_conf *c,
                      const struct fs_tenant_conf *t, const struct fs_param *p,
                      size_t n)
{
	const char *key = fs_param_get(p, n, "HTTP_X_DEBUG");

	memset(d, 0, sizeof(*d));
	d->kc.listen_fd = -1;
	d->kc.port = (uint16_t)c->debug_port;
	d->kc.wait_ns = t->debug_wait_ns;
	d->kc.counts_time = t->debug_counts_time;
	d->kc.stop_on_breakpoint = true;
	d->kc.stop_on_fault = t->debug_on_fault;
	d->kc.log = log_line;
	d->kc.log_ctx = t->name;
	if (key)
		prepare_x_debug(d, c, t, key);
	else
		d->on = t->allow_debug && c->debug_port != 0;
}

void fs_debug_done(struct fs_debug *d)
{
	if (d->kc.listen_fd >= 0)
		close(d->kc.listen_fd);
	d->kc.listen_fd = -1;
}
