/* fs_fcgi_rec: the FastCGI record layer as a pure parser (bytes in, events
 * out, no I/O) and the builders of the records a responder sends. */
#ifndef FS_FCGI_REC_H
#define FS_FCGI_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types and values from the FastCGI 1.0 specification. */
enum {
	FS_FCGI_BEGIN_REQUEST = 1,
	FS_FCGI_ABORT_REQUEST = 2,
	FS_FCGI_END_REQUEST = 3,
	FS_FCGI_PARAMS = 4,
	FS_FCGI_STDIN = 5,
	FS_FCGI_STDOUT = 6,
	FS_FCGI_STDERR = 7,
	FS_FCGI_DATA = 8,
	FS_FCGI_GET_VALUES = 9,
	FS_FCGI_GET_VALUES_RESULT = 10,
	FS_FCGI_UNKNOWN_TYPE = 11,
};
enum { FS_FCGI_RESPONDER = 1 };
enum { FS_FCGI_KEEP_CONN = 1 };
enum {
	FS_FCGI_REQUEST_COMPLETE = 0,
	FS_FCGI_CANT_MPX_CONN = 1,
	FS_FCGI_UNKNOWN_ROLE = 3,
};

#define FS_FCGI_HEADER_LEN  8
#define FS_FCGI_CONTENT_MAX 65535
/* All of a request's parameters together (nginx sends 1 to 4 KiB). */
#define FS_FCGI_PARAMS_MAX (64 * 1024)
#define FS_FCGI_PAIRS_MAX  256
#define FS_FCGI_MGMT_MAX   1024 /* FCGI_GET_VALUES content kept */
#define FS_FCGI_REPLY_MAX  128

enum fs_fcgi_ev_type {
	FS_FCGI_EV_BEGIN,     /* a request starts: keep_conn */
	FS_FCGI_EV_PARAMS,    /* its parameters are complete: pairs */
	FS_FCGI_EV_STDIN,     /* body bytes: data, len (into the input) */
	FS_FCGI_EV_STDIN_END, /* the empty FCGI_STDIN record */
	FS_FCGI_EV_ABORT,     /* FCGI_ABORT_REQUEST for the request */
	FS_FCGI_EV_REPLY,     /* send data, len now (management answers) */
};

struct fs_fcgi_pair {
	const char *name, *value; /* NUL-terminated, in the parser */
};

struct fs_fcgi_ev {
	enum fs_fcgi_ev_type type;
	bool keep_conn;
	const unsigned char *data;
	size_t len;
};

struct fs_fcgi_rec {
	/* the record being read */
	unsigned char hdr[FS_FCGI_HEADER_LEN];
	unsigned hdr_have;
	uint8_t type, act; /* act: what the record is for (fcgi_rec.c) */
	uint16_t id;
	uint32_t left, pad; /* content and padding still to come */
	/* the request: 0 when none; finished: answered, its stdin skipped */
	uint16_t active;
	bool finished, params_done, stdin_done;
	unsigned char begin[8];
	unsigned begin_have;
	/* parameters, checked pair by pair as they arrive */
	unsigned char params[FS_FCGI_PARAMS_MAX];
	size_t params_len, params_checked;
	struct fs_fcgi_pair pairs[FS_FCGI_PAIRS_MAX];
	size_t npairs;
	/* FCGI_GET_VALUES, and what we send back */
	unsigned char mgmt[FS_FCGI_MGMT_MAX];
	size_t mgmt_len;
	unsigned char reply[FS_FCGI_REPLY_MAX];
	unsigned max_conns, max_reqs;
	char why[128]; /* the reason for the last error */
};

/* Reset p for a new connection.  max_conns and max_reqs are what
 * FCGI_GET_VALUES reports (FCGI_MPXS_CONNS is always 0). */
void fs_fcgi_rec_init(struct fs_fcgi_rec *p, unsigned max_conns,
                      unsigned max_reqs);

/*
 * Consume bytes from buf[0..len) until one event happens.  Returns 1 with
 * *ev filled, 0 when all len bytes were consumed without an event, or
 * -EPROTO / -E2BIG / -ENOSPC with the reason in p->why (close the
 * connection then).  *used is the number of bytes consumed either way.
 * ev->data of STDIN points into buf; of REPLY, into p.  The pairs after
 * FS_FCGI_EV_PARAMS (p->pairs, p->npairs) stay valid until the next
 * request begins.  Nothing is allocated: every declared length is checked
 * against the fixed buffers before a byte is stored.
 */
int fs_fcgi_rec_next(struct fs_fcgi_rec *p, const unsigned char *buf,
                     size_t len, size_t *used, struct fs_fcgi_ev *ev);

/* The request has been answered: the rest of its records (its stdin up to
 * the empty record) are skipped, and the next BEGIN_REQUEST is awaited. */
void fs_fcgi_rec_finish(struct fs_fcgi_rec *p);

/* Whether the peer is in the middle of sending a request (or of any
 * record but the skipped tail of a finished one): a deadline applies. */
bool fs_fcgi_rec_busy(const struct fs_fcgi_rec *p);

/* Write a record header for type, id and content length len into out. */
void fs_fcgi_rec_header(unsigned char out[FS_FCGI_HEADER_LEN], int type,
                        uint16_t id, uint16_t len);

/* Write a whole FCGI_END_REQUEST record (16 bytes) into out. */
void fs_fcgi_rec_end_request(unsigned char out[16], uint16_t id,
                             uint32_t app_status, uint8_t protocol_status);

#endif
