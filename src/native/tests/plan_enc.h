/* Tiny plan encoder for the tests (see berth.h for the format). */
#ifndef PLAN_ENC_H
#define PLAN_ENC_H

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct enc {
    uint8_t *b;
    size_t len, cap;
    uint32_t nops;
};

static void enc_put(struct enc *e, const void *p, size_t n)
{
    if (e->len + n > e->cap) {
        e->cap = (e->len + n) * 2 + 64;
        e->b = realloc(e->b, e->cap);
    }
    memcpy(e->b + e->len, p, n);
    e->len += n;
}

static void enc_init(struct enc *e)
{
    memset(e, 0, sizeof(*e));
    uint32_t h[3] = {BERTH_PLAN_MAGIC, BERTH_PLAN_VERSION, 0};
    enc_put(e, h, sizeof(h));
}

static void enc_int(struct enc *e, uint64_t v)
{
    uint8_t k = 0;
    enc_put(e, &k, 1);
    enc_put(e, &v, 8);
}

static void enc_bytes(struct enc *e, const void *p, uint32_t n)
{
    uint8_t k = 1;
    enc_put(e, &k, 1);
    enc_put(e, &n, 4);
    enc_put(e, p, n);
}

/* list of strings, each NUL-terminated, NULL-terminated vector */
static void enc_list(struct enc *e, const char *const *items)
{
    size_t n = 0;
    for (const char *const *i = items; i && *i; i++)
        n += strlen(*i) + 1;
    char *buf = malloc(n + 1), *p = buf;
    for (const char *const *i = items; i && *i; i++) {
        strcpy(p, *i);
        p += strlen(*i) + 1;
    }
    enc_bytes(e, buf, (uint32_t)n);
    free(buf);
}

/* op(e, OP, flags, "sil", ...): s = string, i = integer (uint64_t), l = const char *const * list,
 * b = (const void *, uint32_t) raw bytes */
static void enc_op(struct enc *e, uint16_t op, uint16_t flags, const char *sig, ...)
{
    uint32_t argc = (uint32_t)strlen(sig);
    enc_put(e, &op, 2);
    enc_put(e, &flags, 2);
    enc_put(e, &argc, 4);
    va_list ap;
    va_start(ap, sig);
    for (const char *s = sig; *s; s++) {
        if (*s == 's') {
            const char *v = va_arg(ap, const char *);
            enc_bytes(e, v, (uint32_t)strlen(v));
        } else if (*s == 'i') {
            enc_int(e, va_arg(ap, uint64_t));
        } else if (*s == 'l') {
            enc_list(e, va_arg(ap, const char *const *));
        } else if (*s == 'b') {
            const void *p = va_arg(ap, const void *);
            enc_bytes(e, p, va_arg(ap, uint32_t));
        }
    }
    va_end(ap);
    e->nops++;
    memcpy(e->b + 8, &e->nops, 4);
}

#define I(x) ((uint64_t)(x))
#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
