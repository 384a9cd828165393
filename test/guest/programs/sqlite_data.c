/* SQLite from the tenant's data_dir (musl, Debian's libsqlite3.a): main()
 * opens /data/menu.db read-only, each request counts the rows matching
 * its query: "/?q=basil" answers "basil: 2\n". */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "kvm-fpm.h"

static sqlite3 *db; /* part of the snapshot */

void my_backend(const char *url)
{
	const char *q = strchr(url, '=');
	sqlite3_stmt *st;
	char body[128];
	int n = -1;

	q = q ? q + 1 : "";
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM menu WHERE toppings "
	                       "LIKE '%' || ?1 || '%'",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	snprintf(body, sizeof(body), "%s: %d\n", q, n);
	backend_response_str(n < 0 ? 500 : 200, "text/plain",
	                     n < 0 ? sqlite3_errmsg(db) : body);
}

int main(void)
{
	if (sqlite3_open_v2("/data/menu.db", &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "menu.db: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}
