/* Renders a PNG per request (zlib's deflate, Debian's libz.a) on a pizza
 * pre-baked in main(). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "kvm-fpm.h"

#define W       256
#define H       256
#define ROW     (1 + 3 * W) /* filter byte, then RGB */
#define RAW_LEN (H * ROW)
/* compressBound(RAW_LEN): deflate's worst case, a little above RAW_LEN. */
#define ZLIB_LEN                                                               \
	(RAW_LEN + (RAW_LEN >> 12) + (RAW_LEN >> 14) + (RAW_LEN >> 25) + 13)
#define PNG_LEN  (8 + (12 + 13) + (12 + ZLIB_LEN) + 12)
#define CX       128
#define CY       128
#define MAX_TOPS 16

enum topping { PEPPERONI, OLIVE, MUSHROOM, PEPPER, BASIL, NKINDS };
static const char *const kind_names[NKINDS] = {"pepperoni", "olive", "mushroom",
                                               "pepper", "basil"};

static uint8_t base[RAW_LEN]; /* the pizza without toppings, as scanlines */
static uint8_t img[RAW_LEN];
static uint8_t png[PNG_LEN];

/* ---- PNG encoder ------------------------------------------------------ */

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* Wraps the len data bytes already at chunk + 8 into a chunk; returns the
 * end of the chunk. */
static uint8_t *chunk(uint8_t *chunk, const char type[4], size_t len)
{
	put32(chunk, (uint32_t)len);
	memcpy(chunk + 4, type, 4);
	return put32(chunk + 8 + len,
	             (uint32_t)crc32(0, chunk + 4, (uInt)(4 + len)));
}

/* Encodes RAW_LEN bytes of scanlines (filter byte 0, then RGB) as a PNG
 * into out (PNG_LEN bytes); returns its length, 0 if zlib failed. */
static size_t png_encode(const uint8_t *raw, uint8_t *out)
{
	uint8_t *p = out, *z;
	uLongf zlen = ZLIB_LEN;

	memcpy(p, "\x89PNG\r\n\x1a\n", 8);
	p += 8;
	z = put32(p + 8, W);
	z = put32(z, H);
	memcpy(z, "\x08\x02\x00\x00\x00", 5); /* 8-bit RGB, no interlace */
	p = chunk(p, "IHDR", 13);

	/* Level 6, zlib's default: most of level 9's size at a third of
	 * its time, which every request pays. */
	if (compress2(p + 8, &zlen, raw, RAW_LEN, 6) != Z_OK)
		return 0;
	p = chunk(p, "IDAT", zlen);
	p = chunk(p, "IEND", 0);
	return (size_t)(p - out);
}

/* ---- drawing ---------------------------------------------------------- */

static void plot(uint8_t *im, int x, int y, uint32_t rgb)
{
	uint8_t *px;

	if (x < 0 || x >= W || y < 0 || y >= H)
		return;
	px = im + y * ROW + 1 + 3 * x;
	px[0] = (uint8_t)(rgb >> 16);
	px[1] = (uint8_t)(rgb >> 8);
	px[2] = (uint8_t)rgb;
}

/* Paints the pixels whose distance d from (cx, cy) has rin <= d <= rout. */
static void ring(uint8_t *im, float cx, float cy, float rin, float rout,
                 uint32_t rgb)
{
	for (int y = (int)(cy - rout) - 1; y <= (int)(cy + rout) + 1; y++)
		for (int x = (int)(cx - rout) - 1; x <= (int)(cx + rout) + 1;
		     x++) {
			float dx = (float)x - cx, dy = (float)y - cy;
			float d2 = dx * dx + dy * dy;

			if (d2 >= rin * rin && d2 <= rout * rout)
				plot(im, x, y, rgb);
		}
}

static void disc(uint8_t *im, float cx, float cy, float r, uint32_t rgb)
{
	ring(im, cx, cy, 0, r, rgb);
}

static uint32_t shade(uint32_t rgb, float f)
{
	uint32_t out = 0;

	for (int s = 16; s >= 0; s -= 8) {
		float c = (float)(rgb >> s & 0xff) * f;

		out |= (uint32_t)(c > 255 ? 255 : c) << s;
	}
	return out;
}

static uint64_t rng_state;

static uint32_t rnd(void) /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static float rndf(void) /* [0, 1) */
{
	return (float)(rnd() >> 8) / 16777216.0f;
}

/* Tablecloth, crust, sauce and cheese: the same for every request. */
static void bake_base(void)
{
	for (int y = 0; y < H; y++) {
		base[y * ROW] = 0; /* filter: none */
		for (int x = 0; x < W; x++) {
			float dx = (float)(x - CX), dy = (float)(y - CY);
			float d = sqrtf(dx * dx + dy * dy), a = atan2f(dy, dx);
			float cheese_r =
			    96 + 5 * sinf(5 * a) + 3 * sinf(9 * a + 1);
			uint32_t rgb =
			    ((x / 32 + y / 32) & 1) ? 0xc0392b : 0xf4f1ea;

			if (d <= 122)
				rgb = shade(0xd9a55b, 1.1f - (d - 104) / 50);
			if (d <= 108)
				rgb = 0xb8321f; /* sauce */
			if (d <= cheese_r)
				rgb = 0xf5d76e;
			plot(base, x, y, rgb);
		}
	}
	rng_state = 0x5eed;
	for (int i = 0; i < 60; i++) { /* browned cheese spots */
		float r = 90 * sqrtf(rndf()), a = 6.2831853f * rndf();

		disc(base, CX + r * cosf(a), CY + r * sinf(a), 2 + 3 * rndf(),
		     0xe6b84a);
	}
}

static void draw_topping(enum topping k, float x, float y)
{
	float a = 6.2831853f * rndf(), c = cosf(a), s = sinf(a);

	switch (k) {
	case PEPPERONI:
		disc(img, x, y, 13, 0x8e1b16);
		disc(img, x, y, 11.5f, 0xb22a22);
		for (int i = 0; i < 3; i++)
			disc(img, x + 8 * rndf() - 4, y + 8 * rndf() - 4, 1.5f,
			     0x7a1410);
		break;
	case OLIVE:
		ring(img, x, y, 3, 7, 0x1e1e1e);
		break;
	case MUSHROOM:
		for (int dy = -9; dy <= 9; dy++)
			for (int dx = -9; dx <= 9; dx++) {
				int cap = dy <= 0 && dx * dx + dy * dy <= 81;
				int stem = dy > 0 && dx >= -3 && dx <= 3;

				if (cap || stem)
					plot(img, (int)x + dx, (int)y + dy,
					     cap ? 0xb89a78 : 0xe8dcc8);
			}
		break;
	case PEPPER:
		ring(img, x, y, 6, 9, 0x2e8b2e);
		break;
	case BASIL: /* an ellipse turned by a, with a darker vein */
		for (int dy = -11; dy <= 11; dy++)
			for (int dx = -11; dx <= 11; dx++) {
				float u = (float)dx * c + (float)dy * s;
				float v = (float)dy * c - (float)dx * s;

				if (u * u / 100 + v * v / 20 <= 1)
					plot(img, (int)x + dx, (int)y + dy,
					     v > -0.6f && v < 0.6f ? 0x1f5e1f
					                           : 0x2f8f3a);
			}
		break;
	default:
		break;
	}
}

/* ---- request ---------------------------------------------------------- */

/* Adds to kinds[] every topping named in s (a word, or a plural: "olives")
 * between separators; returns the new count. */
static int parse_kinds(const char *s, size_t len, const char *seps,
                       enum topping *kinds, int n)
{
	size_t i = 0;

	while (i < len) {
		size_t w = strcspn(s + i, seps);

		if (i + w > len)
			w = len - i;
		for (int k = 0; k < NKINDS && n < NKINDS; k++) {
			size_t kl = strlen(kind_names[k]);

			if ((w == kl || (w == kl + 1 && s[i + kl] == 's')) &&
			    strncmp(s + i, kind_names[k], kl) == 0)
				kinds[n++] = (enum topping)k;
		}
		i += w + 1;
	}
	return n;
}

void my_backend(const char *url)
{
	enum topping kinds[NKINDS];
	const char *q = request_query();
	float tx[MAX_TOPS], ty[MAX_TOPS];
	int nkinds, count, placed = 0;
	size_t len;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the URL */

	for (const char *p = url; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	rng_state = h | 1;

	nkinds = parse_kinds(url, strcspn(url, "?"), "/,", kinds, 0);
	for (const char *p = q; *p; p += strcspn(p, "&"), p += *p == '&')
		if (strncmp(p, "toppings=", 9) == 0)
			nkinds = parse_kinds(p + 9, strcspn(p + 9, "&"), ",&",
			                     kinds, nkinds);
	if (nkinds == 0) /* none named: let the hash choose one to three */
		for (int i = 0, want = 1 + (int)(rnd() % 3); i < want; i++)
			kinds[nkinds++] = (enum topping)(rnd() % NKINDS);

	memcpy(img, base, RAW_LEN);
	count = 6 + (int)(rnd() % 10);
	for (int tries = 0; placed < count && tries < 500; tries++) {
		float r = 82 * sqrtf(rndf()), a = 6.2831853f * rndf();
		float x = CX + r * cosf(a), y = CY + r * sinf(a);
		int clear = 1;

		for (int i = 0; i < placed; i++)
			if ((x - tx[i]) * (x - tx[i]) +
			        (y - ty[i]) * (y - ty[i]) <
			    24 * 24)
				clear = 0;
		if (!clear)
			continue;
		tx[placed] = x;
		ty[placed++] = y;
		draw_topping(kinds[rnd() % (uint32_t)nkinds], x, y);
	}

	len = png_encode(img, png);
	if (len == 0)
		backend_response_str(500, "text/plain", "deflate failed\n");
	response_header("Cache-Control", "public, max-age=60");
	backend_response(200, "image/png", png, len);
}

int main(void)
{
	bake_base();
	return 0;
}
