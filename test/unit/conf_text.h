/* Configuration test helpers: a config from a string, a config as text. */
#ifndef CONF_TEXT_H
#define CONF_TEXT_H

#include <stddef.h>

#include "conf.h"

/* Write text to a fresh temporary file; the caller unlinks and frees. */
char *conf_write(const char *text);

/* fs_conf_load() of text, through a temporary file removed afterwards. */
int conf_load_text(const char *text, struct fs_conf *c, char *err,
                   size_t errlen);

/* What fs_conf_print() prints for c; the caller frees. */
char *conf_print_text(const struct fs_conf *c);

#endif
