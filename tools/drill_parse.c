/*
 * drill_parse.c - packetdrill script text to struct dr_script.
 *
 *   dr_parse -> preprocess (#ifdef blocks, --option lines)
 *            -> lex (tokens with line numbers, SPEC 2)
 *            -> parse_event: time, then a packet, syscall or shell line
 *
 * Everything is checked here, before the script runs: a script that uses
 * something outside the subset becomes SKIP with the reason, never a FAIL
 * halfway through.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "synack.h"
#include "wire/wire.h"

enum tok { T_END, T_INT, T_FLOAT, T_WORD, T_STRING, T_SHELL, T_CODE, T_ELLIPSIS, T_PUNCT };

struct token {
	enum tok kind;
	int line;
	int64_t i;       /* T_INT */
	double f;        /* T_FLOAT (and T_INT as a double) */
	char c;          /* T_PUNCT */
	char *s;         /* T_WORD, T_STRING, T_SHELL, T_CODE: owned text */
};

struct parser {
	struct token *t;
	int n, cap, pos;
	const struct dr_define *defs;
	int ndefs;
	struct dr_result *res;
	bool failed;
};

/* Record the first error; later ones are consequences of it. */
static void perr(struct parser *p, enum dr_verdict v, int line, const char *fmt, ...)
{
	va_list ap;
	if (p->failed)
		return;
	p->failed = true;
	p->res->verdict = v;
	int off = snprintf(p->res->msg, sizeof(p->res->msg), "line %d: %s", line,
	                   v == DR_SKIP ? "unsupported: " : "syntax error: ");
	va_start(ap, fmt);
	vsnprintf(p->res->msg + off, sizeof(p->res->msg) - (size_t)off, fmt, ap);
	va_end(ap);
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d) {
		fprintf(stderr, "synack drill: out of memory\n");
		exit(2);
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void push(struct parser *p, struct token tk)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->t = realloc(p->t, (size_t)p->cap * sizeof(*p->t));
		if (!p->t) {
			fprintf(stderr, "synack drill: out of memory\n");
			exit(2);
		}
	}
	p->t[p->n++] = tk;
}

static const char *define_lookup(const struct parser *p, const char *name, size_t len)
{
	/* NAME without a value only counts for #ifdef */
	for (int i = 0; i < p->ndefs; i++)
		if (strlen(p->defs[i].name) == len && strncmp(p->defs[i].name, name, len) == 0 &&
		    p->defs[i].value[0])
			return p->defs[i].value;
	return NULL;
}

/* ---- lexer (SPEC 2) -------------------------------------------------------- */

static void lex(struct parser *p, const char *s)
{
	int line = 1;
	while (*s && !p->failed) {
		if (*s == '\n') {
			line++;
			s++;
			continue;
		}
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (s[0] == '/' && s[1] == '/') {
			while (*s && *s != '\n')
				s++;
			continue;
		}
		if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			if (!e) {
				perr(p, DR_FAIL, line, "unterminated comment");
				return;
			}
			for (; s < e; s++)
				line += *s == '\n';
			s = e + 2;
			continue;
		}
		struct token tk = {.line = line};
		if (*s == '`' || (s[0] == '%' && s[1] == '{')) {
			bool code = *s == '%';
			const char *b = s + (code ? 2 : 1);
			const char *e = code ? strstr(b, "}%") : strchr(b, '`');
			if (!e) {
				perr(p, DR_FAIL, line, "unterminated %s", code ? "%{ block" : "shell command");
				return;
			}
			tk.kind = code ? T_CODE : T_SHELL;
			tk.s = xstrndup(b, (size_t)(e - b));
			for (const char *q = s; q < e; q++)
				line += *q == '\n';
			s = e + (code ? 2 : 1);
			push(p, tk);
			continue;
		}
		if (*s == '"') {
			const char *e = s + 1;
			while (*e && *e != '"') {
				if (*e == '\\' && e[1])
					e++;
				e++;
			}
			if (!*e) {
				perr(p, DR_FAIL, line, "unterminated string");
				return;
			}
			tk.kind = T_STRING;
			tk.s = xstrndup(s + 1, (size_t)(e - s - 1));
			s = e + 1;
			push(p, tk);
			continue;
		}
		if (s[0] == '.' && s[1] == '.' && s[2] == '.') {
			tk.kind = T_ELLIPSIS;
			s += 3;
			push(p, tk);
			continue;
		}
		/* Numbers: hex, integer, or float ("1.5", ".1"); "-" only when a
		 * digit follows, so that "-1" is one token. */
		const char *q = s;
		if (*q == '-' && (isdigit((unsigned char)q[1]) || (q[1] == '.' && isdigit((unsigned char)q[2]))))
			q++;
		if (isdigit((unsigned char)*q) || (*q == '.' && isdigit((unsigned char)q[1]))) {
			const char *e = q;
			if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
				e = q + 2;
				while (isxdigit((unsigned char)*e))
					e++;
				tk.kind = T_INT;
				tk.i = (int64_t)strtoull(q + 2, NULL, 16);
				if (s != q)
					tk.i = -tk.i;
				tk.f = (double)tk.i;
			} else {
				while (isdigit((unsigned char)*e))
					e++;
				if (*e == '.' && isdigit((unsigned char)e[1])) {
					e++;
					while (isdigit((unsigned char)*e))
						e++;
					tk.kind = T_FLOAT;
					tk.f = strtod(s, NULL);
				} else {
					tk.kind = T_INT;
					errno = 0;
					tk.i = strtoll(s, NULL, 10);
					tk.f = (double)tk.i;
					/* Too long for a number (a TFO cookie in hex):
					 * lexed as a word; the parser decides. */
					if (errno == ERANGE)
						e = s;
				}
			}
			/* "1460abc" is a word, not a number followed by a word. */
			if (e != s && !isalpha((unsigned char)*e) && *e != '_') {
				s = e;
				push(p, tk);
				continue;
			}
		}
		if (isalnum((unsigned char)*s) || *s == '_') {
			const char *e = s;
			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			const char *val = define_lookup(p, s, (size_t)(e - s));
			if (val) {
				/* A defined word stands for its value, lexed again. */
				struct parser sub = {.defs = NULL, .res = p->res};
				lex(&sub, val);
				for (int i = 0; i < sub.n; i++) {
					sub.t[i].line = line;
					push(p, sub.t[i]);
				}
				free(sub.t);
				if (sub.failed)
					p->failed = true;
			} else {
				tk.kind = T_WORD;
				tk.s = xstrndup(s, (size_t)(e - s));
				push(p, tk);
			}
			s = e;
			continue;
		}
		tk.kind = T_PUNCT;
		tk.c = *s++;
		push(p, tk);
	}
	/* Errors at the end of the text name the last line that has a token. */
	struct token end = {.kind = T_END, .line = p->n > 0 ? p->t[p->n - 1].line : line};
	push(p, end);
}

static struct token *peek(struct parser *p) { return &p->t[p->pos]; }
static struct token *next(struct parser *p)
{
	struct token *t = &p->t[p->pos];
	if (t->kind != T_END)
		p->pos++;
	return t;
}
static bool is_punct(const struct token *t, char c) { return t->kind == T_PUNCT && t->c == c; }
static bool is_word(const struct token *t, const char *w)
{
	return t->kind == T_WORD && strcmp(t->s, w) == 0;
}
static bool accept_punct(struct parser *p, char c)
{
	if (!is_punct(peek(p), c))
		return false;
	p->pos++;
	return true;
}
static bool expect_punct(struct parser *p, char c, const char *what)
{
	if (accept_punct(p, c))
		return true;
	perr(p, DR_FAIL, peek(p)->line, "expected '%c' %s", c, what);
	return false;
}
static bool expect_u32(struct parser *p, uint32_t *v, const char *what)
{
	struct token *t = next(p);
	if (t->kind != T_INT || t->i < 0 || t->i > 0xffffffffLL) {
		perr(p, DR_FAIL, t->line, "expected a number for %s", what);
		return false;
	}
	*v = (uint32_t)t->i;
	return true;
}

/* ---- times (SPEC 4) ---------------------------------------------------------- */

static bool parse_number_us(struct parser *p, int64_t *us)
{
	struct token *t = next(p);
	if (t->kind != T_INT && t->kind != T_FLOAT) {
		perr(p, DR_FAIL, t->line, "expected a time");
		return false;
	}
	if (t->f < 0) {
		perr(p, DR_FAIL, t->line, "negative time");
		return false;
	}
	*us = (int64_t)(t->f * 1e6 + 0.5);
	return true;
}

static bool parse_one_time(struct parser *p, enum dr_tkind *kind, int64_t *us)
{
	if (accept_punct(p, '*')) {
		*kind = DT_ANY;
		*us = 0;
		return true;
	}
	*kind = accept_punct(p, '+') ? DT_REL : DT_ABS;
	return parse_number_us(p, us);
}

static bool parse_time(struct parser *p, struct dr_time *t)
{
	if (!parse_one_time(p, &t->kind, &t->us))
		return false;
	if (t->kind == DT_ANY)
		return true;
	if (accept_punct(p, '~')) {
		t->range = true;
	} else if (peek(p)->kind == T_ELLIPSIS) {
		p->pos++;
		t->blocking = true;
	} else {
		return true;
	}
	if (!parse_one_time(p, &t->end_kind, &t->end_us))
		return false;
	if (t->end_kind == DT_ANY) {
		perr(p, DR_FAIL, peek(p)->line, "'*' cannot end a time range");
		return false;
	}
	/* "+a...b": b shares a's anchor (SPEC 4.2). */
	if (t->blocking && t->kind == DT_REL)
		t->end_kind = DT_REL;
	return true;
}

/* ---- packets (SPEC 5) -------------------------------------------------------- */

static bool parse_flags(struct parser *p, struct dr_packet *k)
{
	struct token *t = peek(p);
	const char *letters = "";
	if (t->kind == T_WORD) {
		letters = t->s;
		p->pos++;
	} else if (is_punct(t, '-')) {
		p->pos++;
		return true;
	} else if (!is_punct(t, '.')) {
		perr(p, DR_FAIL, t->line, "expected TCP flags");
		return false;
	}
	for (const char *c = letters; *c; c++) {
		switch (*c) {
		case 'S': k->flags |= SN_TH_SYN; break;
		case 'F': k->flags |= SN_TH_FIN; break;
		case 'R': k->flags |= SN_TH_RST; break;
		case 'P': k->flags |= SN_TH_PSH; break;
		case 'U': perr(p, DR_SKIP, t->line, "URG flag"); return false;
		case 'E': case 'W': case 'A': perr(p, DR_SKIP, t->line, "ECN flags"); return false;
		default: perr(p, DR_FAIL, t->line, "unknown TCP flag '%c'", *c); return false;
		}
	}
	if (accept_punct(p, '.'))
		k->flags |= SN_TH_ACK;
	return true;
}

static bool parse_options(struct parser *p, struct dr_packet *k)
{
	/* '<' already taken */
	if (peek(p)->kind == T_ELLIPSIS) {
		p->pos++;
		k->opts_any = true;
		return expect_punct(p, '>', "after <...");
	}
	for (;;) {
		struct token *t = next(p);
		if (k->nopts == DR_MAX_OPTS) {
			perr(p, DR_FAIL, t->line, "too many options");
			return false;
		}
		struct dr_opt *o = &k->opts[k->nopts++];
		if (t->kind != T_WORD) {
			perr(p, DR_FAIL, t->line, "expected a TCP option");
			return false;
		}
		if (strcmp(t->s, "nop") == 0) {
			o->kind = SN_TCPOPT_NOP;
		} else if (strcmp(t->s, "eol") == 0) {
			o->kind = SN_TCPOPT_EOL;
		} else if (strcmp(t->s, "sackOK") == 0) {
			o->kind = SN_TCPOPT_SACK_PERM;
		} else if (strcmp(t->s, "mss") == 0) {
			o->kind = SN_TCPOPT_MSS;
			if (!expect_u32(p, &o->a, "mss"))
				return false;
		} else if (strcmp(t->s, "wscale") == 0) {
			o->kind = SN_TCPOPT_WSCALE;
			if (!expect_u32(p, &o->a, "wscale"))
				return false;
		} else if (strcmp(t->s, "sack") == 0) {
			o->kind = SN_TCPOPT_SACK;
			while (peek(p)->kind == T_INT) {
				if (o->nsack == 4) {
					perr(p, DR_FAIL, t->line, "more than 4 SACK blocks");
					return false;
				}
				if (!expect_u32(p, &o->sack[o->nsack][0], "SACK block") ||
				    !expect_punct(p, ':', "in a SACK block") ||
				    !expect_u32(p, &o->sack[o->nsack][1], "SACK block"))
					return false;
				o->nsack++;
			}
		} else if (strcmp(t->s, "TS") == 0) {
			o->kind = SN_TCPOPT_TIMESTAMP;
			if (!is_word(next(p), "val")) {
				perr(p, DR_FAIL, t->line, "expected 'val' in TS");
				return false;
			}
			if (peek(p)->kind == T_ELLIPSIS) {
				p->pos++;
				o->val_any = true;
			} else if (!expect_u32(p, &o->a, "TS val")) {
				return false;
			}
			if (!is_word(next(p), "ecr")) {
				perr(p, DR_FAIL, t->line, "expected 'ecr' in TS");
				return false;
			}
			if (!expect_u32(p, &o->b, "TS ecr"))
				return false;
			if (accept_punct(p, '!'))
				o->ecr_abs = true;
		} else if (strcmp(t->s, "FO") == 0 || strcmp(t->s, "FOEXP") == 0) {
			perr(p, DR_SKIP, t->line, "TCP Fast Open option");
			return false;
		} else if (strcmp(t->s, "md5") == 0) {
			perr(p, DR_SKIP, t->line, "TCP-MD5 option");
			return false;
		} else {
			perr(p, DR_SKIP, t->line, "TCP option '%s'", t->s);
			return false;
		}
		if (accept_punct(p, '>'))
			break;
		if (!expect_punct(p, ',', "between options"))
			return false;
	}
	return true;
}

/*
 * The rest of "< icmp unreachable CODE [S:E(L)]": a Destination Unreachable
 * quoting the stack's segment S:E(L) (its sequence number relative to the
 * stack's ISN, like any non-SYN outbound number). Other ICMP types, and
 * "frag_needed mtu N" (path MTU discovery), are outside the subset.
 */
static bool parse_icmp(struct parser *p, struct dr_packet *k)
{
	static const char *const codes[] = {
		"net_unreachable", "host_unreachable", "protocol_unreachable", "port_unreachable",
		"frag_needed", "source_route_failed", "net_unknown", "host_unknown",
		"source_host_isolated", "net_prohibited", "host_prohibited",
		"net_unreachable_for_tos", "host_unreachable_for_tos", "packet_filtered",
		"precedence_violation", "precedence_cutoff",
	};
	struct token *t = peek(p);
	if (!is_word(t, "unreachable")) {
		perr(p, DR_SKIP, t->line, "ICMP other than Destination Unreachable");
		return false;
	}
	p->pos++;
	t = peek(p);
	int code = -1;
	for (size_t i = 0; t->kind == T_WORD && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(t->s, codes[i]) == 0)
			code = (int)i;
	if (code < 0) {
		perr(p, DR_FAIL, t->line, "unknown ICMP unreachable code");
		return false;
	}
	p->pos++;
	if (is_word(peek(p), "mtu")) {
		perr(p, DR_SKIP, t->line, "ICMP frag_needed with an MTU (path MTU discovery)");
		return false;
	}
	uint32_t end = 0;
	if (!expect_punct(p, '[', "before the quoted segment") || !expect_u32(p, &k->seq, "sequence") ||
	    !expect_punct(p, ':', "in START:END(LEN)") || !expect_u32(p, &end, "sequence") ||
	    !expect_punct(p, '(', "in START:END(LEN)") || !expect_u32(p, &k->len, "length") ||
	    !expect_punct(p, ')', "in START:END(LEN)") || !expect_punct(p, ']', "after the quoted segment"))
		return false;
	k->icmp = true;
	k->icmp_code = (uint8_t)code;
	return true;
}

static bool parse_packet(struct parser *p, struct dr_event *e)
{
	struct dr_packet *k = &e->pkt;
	k->outbound = next(p)->c == '>';
	struct token *t = peek(p);
	if (is_word(t, "icmp") && !k->outbound) {
		p->pos++;
		return parse_icmp(p, k);
	}
	if (is_word(t, "icmp") || is_word(t, "udp") || is_word(t, "gre") || is_word(t, "mpls")) {
		perr(p, DR_SKIP, t->line, "%s packets", t->s);
		return false;
	}
	if (is_punct(t, '[') || (is_punct(t, '(') && p->t[p->pos + 1].kind == T_WORD)) {
		perr(p, DR_SKIP, t->line, "IP information (TOS, TTL, ECN)");
		return false;
	}
	/* Explicit ports: "1234>8080" (rare; outside the subset). */
	if (t->kind == T_INT && is_punct(&p->t[p->pos + 1], '>')) {
		perr(p, DR_SKIP, t->line, "explicit ports");
		return false;
	}
	if (!parse_flags(p, k))
		return false;
	if (peek(p)->kind == T_ELLIPSIS) {
		p->pos++;
		k->seq_any = true;
		if (!k->outbound) {
			perr(p, DR_FAIL, t->line, "'...' sequence on an inbound packet");
			return false;
		}
	}
	uint32_t end = 0;
	if (!k->seq_any &&
	    (!expect_u32(p, &k->seq, "sequence") || !expect_punct(p, ':', "in START:END(LEN)") ||
	     !expect_u32(p, &end, "sequence")))
		return false;
	if (!expect_punct(p, '(', "in START:END(LEN)") || !expect_u32(p, &k->len, "length") ||
	    !expect_punct(p, ')', "in START:END(LEN)"))
		return false;
	if (!k->seq_any && end != k->seq + k->len) {
		perr(p, DR_FAIL, t->line, "%u:%u(%u): END is not START+LEN", k->seq, end, k->len);
		return false;
	}
	if (k->len > 65535) {
		perr(p, DR_FAIL, t->line, "a segment of %u bytes", k->len);
		return false;
	}
	if (accept_punct(p, '!'))
		k->seq_abs = true;
	for (;;) {
		t = peek(p);
		if (is_word(t, "ack")) {
			p->pos++;
			k->has_ack = true;
			if (!expect_u32(p, &k->ack, "ack"))
				return false;
		} else if (is_word(t, "win")) {
			p->pos++;
			k->has_win = true;
			if (!expect_u32(p, &k->win, "win"))
				return false;
		} else if (is_word(t, "urg")) {
			perr(p, DR_SKIP, t->line, "urgent pointer");
			return false;
		} else if (is_punct(t, '<')) {
			p->pos++;
			if (!parse_options(p, k))
				return false;
		} else if (is_punct(t, '/')) {
			perr(p, DR_SKIP, t->line, "TCP over UDP encapsulation");
			return false;
		} else {
			break;
		}
	}
	if (!k->outbound && !k->has_win) {
		perr(p, DR_FAIL, e->line, "inbound packet without 'win'");
		return false;
	}
	if (k->nopts > 0) {
		size_t bytes = 0;
		for (int i = 0; i < k->nopts; i++) {
			static const uint8_t len[] = {[SN_TCPOPT_EOL] = 1, [SN_TCPOPT_NOP] = 1,
			                              [SN_TCPOPT_MSS] = 4, [SN_TCPOPT_WSCALE] = 3,
			                              [SN_TCPOPT_SACK_PERM] = 2, [SN_TCPOPT_TIMESTAMP] = 10};
			bytes += k->opts[i].kind == SN_TCPOPT_SACK ? 2u + 8u * k->opts[i].nsack
			                                           : len[k->opts[i].kind];
		}
		if (bytes % 4 != 0 || bytes > 40) {
			perr(p, DR_FAIL, e->line, "TCP options take %zu bytes (must be a multiple of 4, at most 40)",
			     bytes);
			return false;
		}
	}
	return true;
}

/* ---- syscalls (SPEC 9) ------------------------------------------------------- */

static bool parse_expr(struct parser *p, struct dr_arg *a);
static void arg_free(struct dr_arg *a);
static void event_free(struct dr_event *e);

static bool parse_items(struct parser *p, struct dr_arg *a, char close, bool fields)
{
	int cap = 0;
	while (!accept_punct(p, close)) {
		if (a->n > 0 && !expect_punct(p, ',', "between items"))
			return false;
		if (a->n == cap) {
			cap = cap ? cap * 2 : 4;
			a->items = realloc(a->items, (size_t)cap * sizeof(*a->items));
			if (!a->items)
				exit(2);
		}
		struct dr_arg *it = &a->items[a->n++];
		memset(it, 0, sizeof(*it));
		if (fields) {
			struct token *t = next(p);
			if (t->kind != T_WORD || !accept_punct(p, '=')) {
				perr(p, DR_FAIL, t->line, "expected name=value in { }");
				return false;
			}
			it->field = xstrndup(t->s, strlen(t->s));
		}
		if (!parse_expr(p, it))
			return false;
	}
	return true;
}

static bool parse_term(struct parser *p, int64_t *v)
{
	struct token *t = next(p);
	switch (t->kind) {
	case T_INT:
		*v = t->i;
		return true;
	case T_WORD: {
		int err;
		if (dr_symbol(t->s, v))
			return true;
		if (dr_errno(t->s, &err)) { /* getsockopt(SO_ERROR) values: [ECONNRESET] */
			*v = err;
			return true;
		}
		perr(p, DR_SKIP, t->line, "symbol %s", t->s);
		return false;
	}
	default:
		perr(p, DR_FAIL, t->line, "expected an argument");
		return false;
	}
}

static bool parse_expr(struct parser *p, struct dr_arg *a)
{
	struct token *t = peek(p);
	if (t->kind == T_ELLIPSIS) {
		p->pos++;
		a->kind = DA_ELLIPSIS;
		return true;
	}
	if (t->kind == T_STRING) {
		p->pos++;
		a->kind = DA_STRING;
		while (peek(p)->kind == T_STRING)
			p->pos++; /* adjacent strings concatenate; the value is unused */
		return true;
	}
	if (is_punct(t, '[')) {
		p->pos++;
		a->kind = DA_LIST;
		return parse_items(p, a, ']', false);
	}
	if (is_punct(t, '{')) {
		p->pos++;
		a->kind = DA_STRUCT;
		return parse_items(p, a, '}', true);
	}
	a->kind = DA_INT;
	int64_t v = 0, w;
	if (!parse_term(p, &v))
		return false;
	while (accept_punct(p, '|')) {
		if (!parse_term(p, &w))
			return false;
		v |= w;
	}
	a->v = v;
	return true;
}

static void skip_note(struct parser *p)
{
	if (!is_punct(peek(p), '('))
		return;
	int depth = 0;
	do {
		struct token *t = next(p);
		if (t->kind == T_END)
			return;
		if (is_punct(t, '('))
			depth++;
		else if (is_punct(t, ')'))
			depth--;
	} while (depth > 0);
}

static const char *const supported_calls[] = {
	"socket", "bind", "listen", "accept", "connect", "write", "send", "read", "recv",
	"shutdown", "close", "setsockopt", "getsockopt", "fcntl", "poll", "sendto", NULL,
};

static bool parse_call(struct parser *p, struct dr_event *e)
{
	struct token *t = next(p);
	struct dr_call *c = &e->call;
	bool known = false;
	for (int i = 0; supported_calls[i]; i++)
		known |= strcmp(supported_calls[i], t->s) == 0;
	if (!known) {
		perr(p, DR_SKIP, t->line, "system call %s", t->s);
		return false;
	}
	snprintf(c->name, sizeof(c->name), "%s", t->s);
	if (!expect_punct(p, '(', "after the call's name"))
		return false;
	while (!accept_punct(p, ')')) {
		if (c->nargs > 0 && !expect_punct(p, ',', "between arguments"))
			return false;
		if (c->nargs == DR_MAX_ARGS) {
			perr(p, DR_FAIL, t->line, "too many arguments");
			return false;
		}
		if (!parse_expr(p, &c->args[c->nargs++]))
			return false;
	}
	if (!expect_punct(p, '=', "before the result"))
		return false;
	struct dr_arg r = {0};
	t = peek(p);
	bool ok = parse_expr(p, &r);
	enum dr_akind rk = r.kind;
	arg_free(&r);
	if (!ok)
		return false;
	if (rk != DA_INT) {
		perr(p, DR_FAIL, t->line, "expected an integer result");
		return false;
	}
	c->ret = r.v;
	t = peek(p);
	if (t->kind == T_WORD) {
		if (!dr_errno(t->s, &c->err)) {
			perr(p, DR_SKIP, t->line, "errno %s", t->s);
			return false;
		}
		p->pos++;
	}
	skip_note(p);
	return true;
}

/* ---- the file -------------------------------------------------------------- */

static bool parse_event(struct parser *p, struct dr_script *s)
{
	if (s->nev == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->ev = realloc(s->ev, (size_t)s->cap * sizeof(*s->ev));
		if (!s->ev)
			exit(2);
	}
	struct dr_event *e = &s->ev[s->nev];
	memset(e, 0, sizeof(*e));
	struct token *t = peek(p);
	e->line = t->line;
	if (t->kind == T_SHELL || t->kind == T_CODE) {
		/* An untimed init or cleanup command (SPEC 3): same rules, but it
		 * runs "at" the current time. */
		e->t.kind = DT_REL;
	} else if (!parse_time(p, &e->t)) {
		return false;
	}
	t = peek(p);
	if (is_punct(t, '<') || is_punct(t, '>')) {
		e->kind = DE_PACKET;
		if (!parse_packet(p, e))
			return false;
		if (!e->pkt.outbound && (e->t.kind == DT_ANY || e->t.range)) {
			perr(p, DR_FAIL, e->line, "'*' or a range on an inbound packet");
			return false;
		}
	} else if (t->kind == T_WORD && is_punct(&p->t[p->pos + 1], '(')) {
		e->kind = DE_CALL;
		if (!parse_call(p, e))
			return false;
	} else if (t->kind == T_SHELL || t->kind == T_CODE) {
		char why[128];
		p->pos++;
		e->kind = DE_SHELL;
		bool ok = t->kind == T_SHELL ? dr_parse_shell(t->s, &e->sh, why, sizeof(why))
		                             : dr_parse_code(t->s, &e->sh, why, sizeof(why));
		if (!ok) {
			perr(p, DR_SKIP, e->line, "%s", why);
			return false;
		}
	} else {
		perr(p, DR_FAIL, t->line, "expected a packet, a system call or a command");
		return false;
	}
	if (e->kind != DE_PACKET || e->pkt.outbound) {
		if (e->t.kind == DT_ANY && e->kind != DE_PACKET) {
			perr(p, DR_FAIL, e->line, "'*' on something other than an outbound packet");
			return false;
		}
	}
	if (e->t.range && e->kind != DE_PACKET) {
		perr(p, DR_FAIL, e->line, "a time range on something other than an outbound packet");
		return false;
	}
	if (e->t.blocking && e->kind != DE_CALL) {
		perr(p, DR_FAIL, e->line, "'...' time on something other than a system call");
		return false;
	}
	s->nev++;
	return true;
}

/* An event that failed to parse may own half-built arguments. */
static bool parse_event_or_free(struct parser *p, struct dr_script *s)
{
	if (parse_event(p, s))
		return true;
	if (s->ev && s->nev < s->cap)
		event_free(&s->ev[s->nev]);
	return false;
}

static bool option_line(struct parser *p, struct dr_script *s, char *opt, int line,
                        struct dr_define *defs, int *ndefs)
{
	char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : "";
	if (eq)
		*eq = '\0';
	const char *name = opt + 2;
	if (strcmp(name, "ip_version") == 0) {
		if (strcmp(val, "ipv4") != 0) {
			perr(p, DR_SKIP, line, "--ip_version=%s (IPv4 only)", val);
			return false;
		}
	} else if (strcmp(name, "tolerance_usecs") == 0) {
		s->tol_us = atoll(val);
	} else if (strcmp(name, "tolerance_percent") == 0) {
		s->tol_pct = atof(val);
	} else if (strcmp(name, "bind_port") == 0) {
		s->bind_port = (uint16_t)atoi(val);
	} else if (strcmp(name, "connect_port") == 0) {
		s->connect_port = (uint16_t)atoi(val);
	} else if (strcmp(name, "mtu") == 0) {
		s->mtu = (uint16_t)atoi(val);
	} else if (strcmp(name, "mss") == 0) {
		/* GSO super-packets are injected as single segments anyway */
	} else if (strcmp(name, "tcp_ts_tick_usecs") == 0) {
		s->ts_tick_us = (uint32_t)atoi(val);
	} else if (strcmp(name, "tcp_ts_ecr_scaled") == 0) {
		s->ecr_scaled = true;
	} else if (strcmp(name, "strict_segments") == 0) {
		s->strict_segments = true;
	} else if (strcmp(name, "non_fatal") == 0) {
		s->non_fatal_packet = strstr(val, "packet") != NULL;
		s->non_fatal_syscall = strstr(val, "syscall") != NULL;
	} else if (strcmp(name, "local_ip") == 0 || strcmp(name, "remote_ip") == 0 ||
	           strcmp(name, "gateway_ip") == 0 || strcmp(name, "netmask_ip") == 0) {
		/* addresses are the harness's choice; the verdict does not depend on them */
	} else if (strcmp(name, "define") == 0) {
		char *e2 = strchr(val, '=');
		if (*ndefs < 32 && e2) {
			snprintf(defs[*ndefs].name, sizeof(defs->name), "%.*s", (int)(e2 - val), val);
			snprintf(defs[*ndefs].value, sizeof(defs->value), "%s", e2 + 1);
			(*ndefs)++;
		}
	} else {
		perr(p, DR_SKIP, line, "option --%s", name);
		return false;
	}
	return true;
}

/*
 * Line pass: drop #ifdef blocks whose name is not defined (nplab dialect, no
 * nesting), and take out --option lines. Lines are blanked, not removed, so
 * that line numbers stay those of the file.
 */
static bool preprocess(struct parser *p, char *text, struct dr_script *s, struct dr_define *defs,
                       int *ndefs)
{
	int line = 1, if_line = 0;
	bool in_if = false, keep = true;
	for (char *l = text; *l; line++) {
		char *nl = strchr(l, '\n');
		char *end = nl ? nl : l + strlen(l);
		char *q = l;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		char save = *end;
		*end = '\0';
		if (strncmp(q, "#ifdef", 6) == 0) {
			char name[64] = "";
			if (in_if) {
				perr(p, DR_FAIL, line, "nested #ifdef");
				return false;
			}
			sscanf(q + 6, "%63s", name);
			in_if = true;
			if_line = line;
			keep = false;
			for (int i = 0; i < *ndefs; i++)
				keep |= strcmp(defs[i].name, name) == 0;
			memset(l, ' ', (size_t)(end - l));
		} else if (strncmp(q, "#endif", 6) == 0) {
			if (!in_if) {
				perr(p, DR_FAIL, line, "#endif without #ifdef");
				return false;
			}
			in_if = false;
			keep = true;
			memset(l, ' ', (size_t)(end - l));
		} else if (strncmp(q, "#else", 5) == 0) {
			perr(p, DR_SKIP, line, "#else");
			return false;
		} else if (!keep) {
			memset(l, ' ', (size_t)(end - l));
		} else if (q[0] == '-' && q[1] == '-') {
			char opt[256];
			char *c = strstr(q, "//");
			if (c)
				*c = '\0';
			snprintf(opt, sizeof(opt), "%s", q);
			for (size_t k = strlen(opt); k > 0 && isspace((unsigned char)opt[k - 1]); k--)
				opt[k - 1] = '\0';
			if (c)
				*c = '/';
			if (!option_line(p, s, opt, line, defs, ndefs))
				return false;
			memset(l, ' ', (size_t)(end - l));
		}
		*end = save;
		if (!nl)
			break;
		l = nl + 1;
	}
	if (in_if) {
		perr(p, DR_FAIL, if_line, "#ifdef without #endif");
		return false;
	}
	return true;
}

/* Free what an argument owns (not the argument itself). */
static void arg_free(struct dr_arg *a)
{
	for (int j = 0; j < a->n; j++)
		arg_free(&a->items[j]);
	free(a->items);
	free(a->field);
	a->items = NULL;
	a->field = NULL;
	a->n = 0;
}

static void event_free(struct dr_event *e)
{
	for (int k = 0; k < e->call.nargs; k++)
		arg_free(&e->call.args[k]);
	e->call.nargs = 0;
}

void dr_script_free(struct dr_script *s)
{
	for (int i = 0; i < s->nev; i++)
		event_free(&s->ev[i]);
	free(s->ev);
	s->ev = NULL;
	s->nev = s->cap = 0;
}

enum dr_verdict dr_parse(const char *text, const struct dr_define *cmd_defs, int ncmd_defs,
                         struct dr_script *s, struct dr_result *res)
{
	struct parser p = {.res = res};
	struct dr_define defs[48];
	int ndefs = ncmd_defs < 16 ? ncmd_defs : 16;
	memcpy(defs, cmd_defs, (size_t)ndefs * sizeof(*defs));
	memset(s, 0, sizeof(*s));
	s->tol_us = 4000;
	s->tol_pct = 12.5;
	s->bind_port = 8080;
	s->connect_port = 8080;
	s->mtu = 1500;
	res->verdict = DR_PASS;
	res->msg[0] = '\0';

	char *copy = xstrndup(text, strlen(text));
	if (preprocess(&p, copy, s, defs, &ndefs)) {
		/* Symbol substitution uses only NAME=VALUE definitions. */
		p.defs = defs;
		p.ndefs = ndefs;
		lex(&p, copy);
		while (!p.failed && peek(&p)->kind != T_END)
			parse_event_or_free(&p, s);
		if (!p.failed && s->nev == 0)
			perr(&p, DR_FAIL, 1, "no events");
	}
	free(copy);
	for (int i = 0; i < p.n; i++)
		free(p.t[i].s);
	free(p.t);
	if (p.failed) {
		dr_script_free(s);
		return res->verdict;
	}
	return DR_PASS;
}
