/* The GDB remote serial protocol's framing: "$payload#xx" out, bytes in
 * to packets, acks and ^C (see gdb.h); and the hex digits both sides of
 * the protocol use. */
#include <stdint.h>

#include "gdb.h"

int kc_gdb_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char kc_gdb_hexdigit(unsigned v)
{
	return "0123456789abcdef"[v & 15];
}

size_t kc_gdb_frame(const char *payload, size_t len, char *out, size_t cap)
{
	uint8_t sum = 0;
	size_t i;

	if (len > SIZE_MAX - 4 || cap < len + 4)
		return 0;
	out[0] = '$';
	for (i = 0; i < len; i++) {
		out[1 + i] = payload[i];
		sum = (uint8_t)(sum + (uint8_t)payload[i]);
	}
	out[1 + len] = '#';
	out[2 + len] = kc_gdb_hexdigit(sum >> 4);
	out[3 + len] = kc_gdb_hexdigit(sum & 15);
	return len + 4;
}

static enum kc_gdb_event rx_idle(struct kc_gdb_rx *rx, uint8_t c)
{
	switch (c) {
	case '$':
		rx->state = RX_DATA;
		rx->len = 0;
		rx->sum = 0;
		rx->overflow = false;
		return KC_GDB_EV_NONE;
	case '+':
		return KC_GDB_EV_ACK;
	case '-':
		return KC_GDB_EV_NACK;
	case 0x03:
		return KC_GDB_EV_INTERRUPT;
	default:
		return KC_GDB_EV_NONE; /* noise between packets */
	}
}

enum kc_gdb_event kc_gdb_rx_byte(struct kc_gdb_rx *rx, uint8_t c)
{
	int v;

	switch (rx->state) {
	case RX_DATA:
		if (c == '#') {
			rx->state = RX_SUM1;
		} else if (c == '$') { /* a fresh start: drop the partial one */
			rx->len = 0;
			rx->sum = 0;
			rx->overflow = false;
		} else {
			rx->sum = (uint8_t)(rx->sum + c);
			if (rx->len < sizeof(rx->buf))
				rx->buf[rx->len++] = (char)c;
			else
				rx->overflow = true;
		}
		return KC_GDB_EV_NONE;
	case RX_SUM1:
	case RX_SUM2:
		v = kc_gdb_hexval((char)c);
		if (v < 0) {
			rx->state = RX_IDLE;
			return KC_GDB_EV_BAD;
		}
		if (rx->state == RX_SUM1) {
			rx->want = (uint8_t)(v << 4);
			rx->state = RX_SUM2;
			return KC_GDB_EV_NONE;
		}
		rx->want |= (uint8_t)v;
		rx->state = RX_IDLE;
		if (rx->want != rx->sum)
			return KC_GDB_EV_BAD;
		return rx->overflow ? KC_GDB_EV_TOO_LONG : KC_GDB_EV_PACKET;
	default:
		return rx_idle(rx, c);
	}
}
