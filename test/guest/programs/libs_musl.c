/* musl C with Debian's static zlib, SQLite, Lua and jansson (built for
 * glibc with _FORTIFY_SOURCE; the runtime supplies the __*_chk symbols).
 * "/" answers "zlib=ok sqlite=6 lua=42 json={...}\n"; "/overflow" calls
 * __memcpy_chk with a length beyond the object, which must abort. */
#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "kvm-fpm.h"

void *__memcpy_chk(void *dst, const void *src, size_t len, size_t dstlen);

/* Through a pointer, so that the compiler's own __memcpy_chk builtin
 * cannot drop the copy into a buffer nobody reads. */
static void *(*volatile memcpy_chk)(void *, const void *, size_t,
                                    size_t) = __memcpy_chk;

static sqlite3 *db; /* opened in main(): part of the snapshot */
static lua_State *lua;

static int zlib_ok(void)
{
	static const char text[] = "musl musl musl musl musl musl musl musl";
	unsigned char packed[256], back[256];
	uLongf plen = sizeof(packed), blen = sizeof(back);

	return compress(packed, &plen, (const Bytef *)text, sizeof(text)) ==
	           Z_OK &&
	       uncompress(back, &blen, packed, plen) == Z_OK &&
	       blen == sizeof(text) && memcmp(back, text, blen) == 0;
}

static int sqlite_sum(void)
{
	sqlite3_stmt *st;
	int sum = -1;

	if (sqlite3_prepare_v2(db, "SELECT sum(n) FROM t", -1, &st, NULL))
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		sum = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return sum;
}

static int lua_answer(void)
{
	int n;

	if (luaL_dostring(lua, "return 6 * 7"))
		return -1;
	n = (int)lua_tointeger(lua, -1);
	lua_pop(lua, 1);
	return n;
}

void my_backend(const char *url)
{
	char small[4], body[256], *json;
	int answer = lua_answer();
	json_t *j;

	if (strcmp(url, "/overflow") == 0) {
		memcpy_chk(small, url, strlen(url), sizeof(small));
		backend_response_str(200, "text/plain", "not reached\n");
	}
	j = json_pack("{s:i}", "lua", answer);
	json = json_dumps(j, JSON_COMPACT);
	snprintf(body, sizeof(body), "zlib=%s sqlite=%d lua=%d json=%s\n",
	         zlib_ok() ? "ok" : "broken", sqlite_sum(), answer,
	         json ? json : "(null)");
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	if (sqlite3_open(":memory:", &db) ||
	    sqlite3_exec(
	        db, "CREATE TABLE t(n); INSERT INTO t VALUES (1), (2), (3)",
	        NULL, NULL, NULL))
		return 1;
	lua = luaL_newstate();
	luaL_openlibs(lua);
	return 0;
}
