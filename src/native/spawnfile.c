/* Spawn file decoder (format in berth.h).  Parent side: allocates. */
#include "berth_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sf_reader {
    const uint8_t *p, *end;
    char *out; /* where the next NUL-terminated copy goes */
};

static int sf_u32(struct sf_reader *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return -1;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

static int sf_bytes(struct sf_reader *r, const char **s, uint32_t *len)
{
    uint32_t n;
    if (sf_u32(r, &n) < 0 || (uint64_t)(r->end - r->p) < n)
        return -1;
    memcpy(r->out, r->p, n);
    r->out[n] = '\0';
    *s = r->out;
    r->out += (size_t)n + 1;
    r->p += n;
    if (len)
        *len = n;
    return 0;
}

static int sf_fail(char *err, size_t errlen, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int sf_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = e;
    return -1;
}

int berth_spawn_file_decode(const uint8_t *buf, size_t len, struct berth_spawn_file *sf, char *err, size_t errlen)
{
    memset(sf, 0, sizeof(*sf));
    /* every string is copied with a NUL: at most len bytes plus one NUL per field */
    sf->storage = malloc(len + BERTH_SPAWN_MAX_JOINS + 8);
    if (!sf->storage)
        return sf_fail(err, errlen, ENOMEM, "out of memory");
    struct sf_reader r = {buf, buf + len, sf->storage};
    uint32_t magic, version, lo, hi, n;
    const char *plan;
    if (sf_u32(&r, &magic) < 0 || (magic == BERTH_SPAWN_MAGIC && sf_u32(&r, &version) < 0))
        goto truncated;
    if (magic != BERTH_SPAWN_MAGIC || version != BERTH_SPAWN_VERSION) {
        berth_spawn_file_free(sf);
        return sf_fail(err, errlen, EINVAL, "not a version %u spawn file", BERTH_SPAWN_VERSION);
    }
    if (sf_u32(&r, &lo) < 0 || sf_u32(&r, &hi) < 0)
        goto truncated;
    sf->clone_flags = (uint64_t)hi << 32 | lo;
    if (sf_u32(&r, &n) < 0 || sf_bytes(&r, &sf->fifo, NULL) < 0)
        goto truncated;
    sf->fifo_fd = (int32_t)n;
    if (sf_u32(&r, &n) < 0 || sf_bytes(&r, &sf->cgroup, NULL) < 0)
        goto truncated;
    sf->console_fd = (int32_t)n;
    if (sf_u32(&r, &sf->njoins) < 0)
        goto truncated;
    if (sf->njoins > BERTH_SPAWN_MAX_JOINS) {
        uint32_t nj = sf->njoins;
        berth_spawn_file_free(sf);
        return sf_fail(err, errlen, EINVAL, "%u namespaces to join", nj);
    }
    for (uint32_t k = 0; k < sf->njoins; k++) {
        if (sf_u32(&r, &n) < 0 || sf_bytes(&r, &sf->join_path[k], NULL) < 0)
            goto truncated;
        sf->join_type[k] = (int32_t)n;
    }
    uint32_t plan_len;
    if (sf_bytes(&r, &plan, &plan_len) < 0)
        goto truncated;
    sf->plan = (const uint8_t *)plan;
    sf->plan_len = plan_len;
    return 0;
truncated:
    berth_spawn_file_free(sf);
    return sf_fail(err, errlen, EINVAL, "truncated");
}

void berth_spawn_file_free(struct berth_spawn_file *sf)
{
    free(sf->storage);
    memset(sf, 0, sizeof(*sf));
}
