/* A pizza menu: every page and the JSON are rendered once, in main();
 * reached under a prefix (Varnish's /z shortcut says X-Forwarded-Prefix),
 * a page is rendered again with its links under that prefix. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

#define MAX_INGREDIENTS 8

/* The table is ours, not the user's: it holds no HTML or JSON special
 * characters, so it is written out unescaped. */
static const struct pizza {
	const char *slug, *name;
	int price_cents;
	const char *ingredients[MAX_INGREDIENTS];
} pizzas[] = {
    {"margherita", "Margherita", 850, {"tomato", "mozzarella", "basil"}},
    {"marinara", "Marinara", 700, {"tomato", "garlic", "oregano", "olive oil"}},
    {"pepperoni", "Pepperoni", 1050, {"tomato", "mozzarella", "pepperoni"}},
    {"quattro-formaggi",
     "Quattro Formaggi",
     1250,
     {"mozzarella", "gorgonzola", "parmesan", "fontina"}},
    {"funghi", "Funghi", 950, {"tomato", "mozzarella", "mushrooms"}},
    {"capricciosa",
     "Capricciosa",
     1200,
     {"tomato", "mozzarella", "ham", "mushrooms", "artichokes", "olives"}},
    {"diavola",
     "Diavola",
     1100,
     {"tomato", "mozzarella", "spicy salami", "chili"}},
    {"prosciutto-e-rucola",
     "Prosciutto e Rucola",
     1350,
     {"tomato", "mozzarella", "prosciutto", "rocket", "parmesan"}},
    {"vegetariana",
     "Vegetariana",
     1150,
     {"tomato", "mozzarella", "peppers", "courgette", "aubergine", "onion"}},
    {"napoletana",
     "Napoletana",
     900,
     {"tomato", "mozzarella", "anchovies", "capers", "oregano"}},
    {"hawaii", "Hawaii", 1000, {"tomato", "mozzarella", "ham", "pineapple"}},
    {"calzone", "Calzone", 1150, {"mozzarella", "ricotta", "ham", "mushrooms"}},
};
#define NPIZZAS (sizeof(pizzas) / sizeof(pizzas[0]))

/* A string built with printf; a failed allocation makes main() fail. */
struct text {
	char *p;
	size_t len, cap;
	int failed;
};

static struct text index_html, menu_json, pizza_html[NPIZZAS];

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
	for (int i = 0; i < MAX_INGREDIENTS && p->ingredients[i]; i++)
		add(t, "%s%s%s%s", i ? sep : "", quote, p->ingredients[i],
		    quote);
}

static void render_index(struct text *t, const char *prefix)
{
	add_head(t, "Pizza menu");
	add(t, "<ul>\n");
	for (size_t i = 0; i < NPIZZAS; i++)
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
	for (size_t i = 0; i < NPIZZAS; i++) {
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

void my_backend(const char *url)
{
	size_t len = strcspn(url, "?");

	response_header("Cache-Control", "public, max-age=30");
	if (len == 1 && url[0] == '/')
		answer_html(&index_html, NULL);
	if (len == 10 && strncmp(url, "/menu.json", 10) == 0)
		answer(200, "application/json", &menu_json);
	if (len >= 7 && strncmp(url, "/pizza/", 7) == 0) {
		for (size_t i = 0; i < NPIZZAS; i++)
			if (strlen(pizzas[i].slug) == len - 7 &&
			    strncmp(url + 7, pizzas[i].slug, len - 7) == 0)
				answer_html(&pizza_html[i], &pizzas[i]);
		backend_response_str(404, "text/plain", "no such pizza\n");
	}
	backend_response_str(404, "text/plain", "not found\n");
}

int main(void)
{
	render();
	if (index_html.failed || menu_json.failed)
		return 1;
	for (size_t i = 0; i < NPIZZAS; i++)
		if (pizza_html[i].failed)
			return 1;
	return 0;
}
