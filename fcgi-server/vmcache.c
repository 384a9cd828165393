/* A worker's resident VMs: one per tenant at most, created on first use,
 * the least recently used evicted at max_vms. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scoreboard.h"
#include "server.h"

int fs_server_init(struct fs_server *s, const struct fs_conf *conf,
                   const struct fs_tenants *tenants, struct fs_scoreboard *sb,
                   int sb_slot)
{
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->tenants = tenants;
	s->sb = sb;
	s->sb_slot = sb_slot;
	s->store_fd = -1;
	s->vms = calloc(tenants->n ? tenants->n : 1, sizeof(*s->vms));
	return s->vms ? 0 : -ENOMEM;
}

static void drop_vm(struct fs_server *s, size_t i)
{
	/* The VM's own image: the tenant's may be newer, or gone (failed) */
	fs_sb_vms(s->sb, (unsigned)s->sb_slot, s->tenants->v[i].sb, -1,
	          -(int64_t)kc_image_snapshot_bytes(kc_vm_image(s->vms[i].vm)));
	kc_vm_destroy(s->vms[i].vm);
	s->vms[i].vm = NULL;
	s->resident--;
}

void fs_server_fini(struct fs_server *s)
{
	size_t i;

	s->reset_due = NULL; /* destroyed below all the same */

	for (i = 0; i < s->tenants->n; i++)
		if (s->vms[i].vm)
			drop_vm(s, i);
	free(s->vms);
	s->vms = NULL;
}

void fs_server_drop_vm(struct fs_server *s, struct fs_tenant *t)
{
	size_t i = (size_t)(t - s->tenants->v);

	if (s->reset_due == t)
		s->reset_due = NULL;
	if (s->vms[i].vm)
		drop_vm(s, i);
}

void fs_server_settle_reset(struct fs_server *s)
{
	struct fs_tenant *t = s->reset_due;
	size_t i;
	int r;

	if (t == NULL)
		return;
	i = (size_t)(t - s->tenants->v);
	s->reset_due = NULL;
	if (s->vms[i].vm == NULL)
		return;
	if (s->drop_due) { /* the request's own error was logged */
		drop_vm(s, i);
		return;
	}
	r = kc_vm_reset(s->vms[i].vm);
	if (r) {
		fs_log(LOG_ERR, t->conf->name,
		       "VM reset failed (%s); the VM is destroyed",
		       strerror(-r));
		drop_vm(s, i);
	}
}

/* The least recently used VM goes when a worker holds max_vms. */
static void evict_one(struct fs_server *s)
{
	size_t i, victim = (size_t)-1;

	for (i = 0; i < s->tenants->n; i++)
		if (s->vms[i].vm &&
		    (victim == (size_t)-1 ||
		     s->vms[i].last_used < s->vms[victim].last_used))
			victim = i;
	if (victim != (size_t)-1)
		drop_vm(s, victim);
}

struct kc_vm *fs_server_vm(struct fs_server *s, struct fs_tenant *t)
{
	size_t i = (size_t)(t - s->tenants->v);
	struct fs_vm_slot *slot = &s->vms[i];
	char err[256];

	fs_server_settle_reset(s); /* a front end that did not */
	if (slot->vm && kc_vm_image(slot->vm) != t->img)
		drop_vm(s, i); /* the program changed */
	if (slot->vm == NULL) {
		if (s->resident >= s->conf->max_vms)
			evict_one(s);
		if (kc_vm_create(t->img, fs_log_guest, t->conf->name, &slot->vm,
		                 err, sizeof(err))) {
			fs_log(LOG_ERR, t->conf->name, "cannot create a VM: %s",
			       err);
			slot->vm = NULL;
			return NULL;
		}
		s->resident++;
		fs_sb_vms(s->sb, (unsigned)s->sb_slot, t->sb, 1,
		          (int64_t)kc_image_snapshot_bytes(t->img));
	}
	slot->last_used = ++s->tick;
	return slot->vm;
}
