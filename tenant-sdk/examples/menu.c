/* A pizza menu from SQLite: main() opens /data/menu.db (the tenant's
 * data_dir) and renders every page and the JSON once; /search?q=WORD asks
 * the database per request.  Reached under a prefix (Varnish's /z shortcut
 * says X-Forwarded-Prefix), a page is rendered again with its links under
 * that prefix. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

/* The menu, read in main() from the SQLite database in the tenant's
 * data_dir (tenant-sdk/examples/menu.sql).  Its text is ours, not the
 * user's: it holds no HTML or JSON special characters, so it is written out
 * unescaped.  Ingredients are comma-separated. */
struct pizza {
	char *slug, *name, *ingredients;
	int price_cents;
};

static struct pizza *pizzas;
static size_t npizzas;
static sqlite3 *db;         /* open from main() on: part of the snapshot */
static sqlite3_stmt *found; /* the search, prepared once */

/* A string built with printf; a failed allocation makes main() fail. */
struct text {
	char *p;
	size_t len, cap;
	int failed;
};

static struct text index_html, menu_json, *pizza_html;

__attribute__((format(printf, 2, 3))) static void add(struct text *t,
                                                      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p ? t->p + t->len : NULL, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= t->cap - t->len) {
		size_t cap = 2 * (t->len + (size_t)n + 1);
		char *p = realloc(t->p, cap);

		if (p == NULL) {
			t->failed = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	if (n < 0)
		t->failed = 1;
	else
		t->len += (size_t)n;
}

static void add_head(struct text *t, const char *title)
{
	add(t,
	    "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">"
	    "<title>%s</title></head>\n<body>\n<h1>%s</h1>\n",
	    title, title);
}

static void add_ingredients(struct text *t, const struct pizza *p,
                            const char *sep, const char *quote)
{
	for (const char *i = p->ingredients; *i; i += *i == ',') {
		int len = (int)strcspn(i, ",");

		add(t, "%s%s%.*s%s", i == p->ingredients ? "" : sep, quote, len,
		    i, quote);
		i += len;
	}
}

static void render_index(struct text *t, const char *prefix)
{
	add_head(t, "Pizza menu");
	add(t, "<ul>\n");
	for (size_t i = 0; i < npizzas; i++)
		add(t,
		    "<li><a href=\"%s/pizza/%s\">%s</a> &ndash; "
		    "&euro;%d.%02d</li>\n",
		    prefix, pizzas[i].slug, pizzas[i].name,
		    pizzas[i].price_cents / 100, pizzas[i].price_cents % 100);
	add(t,
	    "</ul>\n<p><a href=\"%s/menu.json\">JSON</a></p>\n"
	    "</body>\n</html>\n",
	    prefix);
}

static void render_pizza(struct text *t, const struct pizza *p,
                         const char *prefix)
{
	add_head(t, p->name);
	add(t, "<p>&euro;%d.%02d</p>\n<p>", p->price_cents / 100,
	    p->price_cents % 100);
	add_ingredients(t, p, ", ", "");
	add(t,
	    "</p>\n<p><a href=\"%s/\">Back to the menu</a></p>\n"
	    "</body>\n</html>\n",
	    prefix);
}

static void render(void)
{
	render_index(&index_html, "");
	add(&menu_json, "{\"pizzas\":[");
	for (size_t i = 0; i < npizzas; i++) {
		const struct pizza *p = &pizzas[i];

		add(&menu_json,
		    "%s{\"slug\":\"%s\",\"name\":\"%s\",\"price_cents\":%d,"
		    "\"ingredients\":[",
		    i ? "," : "", p->slug, p->name, p->price_cents);
		add_ingredients(&menu_json, p, ",", "\"");
		add(&menu_json, "]}");
		render_pizza(&pizza_html[i], p, "");
	}
	add(&menu_json, "]}\n");
}

/* The X-Forwarded-Prefix a proxy sent, when it is a plain path ("/z",
 * "/shop/menu"): it goes into links unescaped.  "" otherwise. */
static const char *link_prefix(void)
{
	const char *p = request_header("X-Forwarded-Prefix");
	size_t len = p ? strlen(p) : 0;

	if (len < 2 || len > 64 || p[0] != '/' || p[len - 1] == '/' ||
	    p[strspn(p, "/abcdefghijklmnopqrstuvwxyz"
	                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")])
		return "";
	return p;
}

static void answer(int status, const char *type, const struct text *t)
{
	backend_response(status, type, t->p, t->len);
}

/* A page as rendered in main(), or again under the request's prefix. */
static void answer_html(const struct text *t, const struct pizza *p)
{
	static const char html[] = "text/html; charset=utf-8";
	const char *prefix = link_prefix();
	struct text again = {0};

	/* Caches keep one copy per prefix. */
	response_header("Vary", "X-Forwarded-Prefix");
	if (!*prefix)
		answer(200, html, t);
	if (p)
		render_pizza(&again, p, prefix);
	else
		render_index(&again, prefix);
	if (again.failed)
		backend_response_str(500, "text/plain", "out of memory\n");
	answer(200, html, &again);
}

/* The query's q= value, %-decoded ("+" is a space), into q (size bytes);
 * returns its length, or -1 when there is none, it is empty or too long. */
static int query_word(char *q, size_t size)
{
	const char *p = request_query();
	size_t n = 0;

	while (*p && strncmp(p, "q=", 2) != 0)
		p += strcspn(p, "&"), p += *p == '&';
	if (!*p)
		return -1;
	for (p += 2; *p && *p != '&'; p++) {
		unsigned hex;

		if (n + 1 >= size)
			return -1;
		if (*p == '%' && sscanf(p + 1, "%2x", &hex) == 1 && hex) {
			q[n++] = (char)hex;
			p += 2;
		} else {
			q[n++] = *p == '+' ? ' ' : *p;
		}
	}
	q[n] = '\0';
	return n ? (int)n : -1;
}

/* /search?q=WORD: the pizzas whose name or ingredients contain WORD (any
 * case), one line each, asked of the database opened in main(). */
static void search(void)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct text t = {0};
	char q[65];
	int r;

	if (query_word(q, sizeof(q)) < 0)
		backend_response_str(400, text,
		                     "usage: /search?q=WORD "
		                     "(1 to 64 bytes)\n");
	sqlite3_bind_text(found, 1, q, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(found)) == SQLITE_ROW) {
		struct pizza p = {.name = (char *)sqlite3_column_text(found, 0),
		                  .price_cents = sqlite3_column_int(found, 1),
		                  .ingredients =
		                      (char *)sqlite3_column_text(found, 2)};

		add(&t, "%s, \u20ac%d.%02d: ", p.name, p.price_cents / 100,
		    p.price_cents % 100);
		add_ingredients(&t, &p, ", ", "");
		add(&t, "\n");
	}
	if (r != SQLITE_DONE)
		backend_response_str(500, text, sqlite3_errmsg(db));
	if (t.len == 0)
		add(&t, "no pizza with \"%s\"\n", q);
	if (t.failed)
		backend_response_str(500, text, "out of memory\n");
	answer(200, text, &t);
}

void my_backend(const char *url)
{
	size_t len = strcspn(url, "?");

	response_header("Cache-Control", "public, max-age=30");
	if (len == 1 && url[0] == '/')
		answer_html(&index_html, NULL);
	if (len == 10 && strncmp(url, "/menu.json", 10) == 0)
		answer(200, "application/json", &menu_json);
	if (len == 7 && strncmp(url, "/search", 7) == 0)
		search();
	if (len >= 7 && strncmp(url, "/pizza/", 7) == 0) {
		for (size_t i = 0; i < npizzas; i++)
			if (strlen(pizzas[i].slug) == len - 7 &&
			    strncmp(url + 7, pizzas[i].slug, len - 7) == 0)
				answer_html(&pizza_html[i], &pizzas[i]);
		backend_response_str(404, "text/plain", "no such pizza\n");
	}
	backend_response_str(404, "text/plain", "not found\n");
}

static char *column(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? strdup(s) : NULL;
}

/* Reads every pizza, in the menu's order; 0 or -1. */
static int load(void)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(db,
	                       "SELECT slug, name, price_cents, ingredients "
	                       "FROM pizza ORDER BY rowid",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pizza *more =
		    realloc(pizzas, (npizzas + 1) * sizeof(*pizzas));

		if (more == NULL)
			break;
		pizzas = more;
		pizzas[npizzas] =
		    (struct pizza){column(st, 0), column(st, 1), column(st, 3),
		                   sqlite3_column_int(st, 2)};
		if (!pizzas[npizzas].slug || !pizzas[npizzas].name ||
		    !pizzas[npizzas].ingredients)
			break;
		npizzas++;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int main(void)
{
	if (sqlite3_open_v2("/data/menu.db", &db, SQLITE_OPEN_READONLY, NULL) !=
	        SQLITE_OK ||
	    load() < 0 ||
	    sqlite3_prepare_v2(
	        db,
	        "SELECT name, price_cents, ingredients FROM pizza "
	        "WHERE instr(lower(name || ',' || ingredients), lower(?1)) "
	        "ORDER BY rowid",
	        -1, &found, NULL) != SQLITE_OK) {
		fprintf(stderr, "/data/menu.db: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	pizza_html = calloc(npizzas, sizeof(*pizza_html));
	if (pizza_html == NULL)
		return 1;
	render();
	if (index_html.failed || menu_json.failed)
		return 1;
	for (size_t i = 0; i < npizzas; i++)
		if (pizza_html[i].failed)
			return 1;
	return 0;
}
