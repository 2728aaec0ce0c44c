/* Plan parsing and validation.  Runs in the parent before cloning: this is the only
 * place that allocates.  The child gets a copy of the parsed plan with every byte
 * arg NUL-terminated and every argv/env list already turned into a char* vector. */
#include "berth_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Argument signature per op: 'i' integer, 'b' bytes, 'l' bytes holding a
 * NUL-separated list (argv/env) that also gets a char* vector. */
static const struct {
    const char *name;
    const char *sig;
} op_table[] = {
    [BERTH_OP_SYNC] = {"SYNC", "b"},
    [BERTH_OP_UNSHARE] = {"UNSHARE", "i"},
    [BERTH_OP_SETHOSTNAME] = {"SETHOSTNAME", "b"},
    [BERTH_OP_SETDOMAINNAME] = {"SETDOMAINNAME", "b"},
    [BERTH_OP_OPEN_ROOT] = {"OPEN_ROOT", "b"},
    [BERTH_OP_MOUNT] = {"MOUNT", "bbbibii"},
    [BERTH_OP_MKNOD] = {"MKNOD", "biiiiib"},
    [BERTH_OP_SYMLINK] = {"SYMLINK", "bb"},
    [BERTH_OP_MKDIR] = {"MKDIR", "bi"},
    [BERTH_OP_PIVOT_ROOT] = {"PIVOT_ROOT", "b"},
    [BERTH_OP_MASK_PATH] = {"MASK_PATH", "b"},
    [BERTH_OP_READONLY_PATH] = {"READONLY_PATH", "b"},
    [BERTH_OP_WRITE_FILE] = {"WRITE_FILE", "bb"},
    [BERTH_OP_SETRLIMIT] = {"SETRLIMIT", "iii"},
    [BERTH_OP_CHDIR] = {"CHDIR", "b"},
    [BERTH_OP_UMASK] = {"UMASK", "i"},
    [BERTH_OP_SETSID] = {"SETSID", ""},
    [BERTH_OP_CONSOLE] = {"CONSOLE", "iii"},
    [BERTH_OP_KEEPCAPS] = {"KEEPCAPS", ""},
    [BERTH_OP_SETGROUPS] = {"SETGROUPS", "b"},
    [BERTH_OP_SETGID] = {"SETGID", "i"},
    [BERTH_OP_SETUID] = {"SETUID", "i"},
    [BERTH_OP_CAPS_BOUNDING] = {"CAPS_BOUNDING", "i"},
    [BERTH_OP_CAPSET] = {"CAPSET", "iii"},
    [BERTH_OP_CAPS_AMBIENT] = {"CAPS_AMBIENT", "i"},
    [BERTH_OP_NO_NEW_PRIVS] = {"NO_NEW_PRIVS", ""},
    [BERTH_OP_SECCOMP] = {"SECCOMP", "bi"},
    [BERTH_OP_READY] = {"READY", ""},
    [BERTH_OP_EXEC_FIFO] = {"EXEC_FIFO", "b"},
    [BERTH_OP_HOOK] = {"HOOK", "bllbi"},
    [BERTH_OP_LOOKUP] = {"LOOKUP", "bl"},
    [BERTH_OP_EXEC] = {"EXEC", "bllb"},
    [BERTH_OP_DUP2] = {"DUP2", "ii"},
    [BERTH_OP_LOOPBACK_UP] = {"LOOPBACK_UP", ""},
};
#define OP_MAX (sizeof(op_table) / sizeof(op_table[0]))

const char *berth_op_name(unsigned op)
{
    return op < OP_MAX && op_table[op].name ? op_table[op].name : "?";
}

struct reader {
    const uint8_t *p, *end;
};

static int rd(struct reader *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    memcpy(out, r->p, n); /* the host is little endian (x86_64, aarch64) */
    r->p += n;
    return 0;
}

static int perr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

/* Split a NUL-separated list into a NULL-terminated vector (pointing into s). */
static char **split_list(const char *s, uint32_t len)
{
    size_t n = 0;
    for (uint32_t i = 0; i < len; i++)
        if (s[i] == '\0' || i == len - 1)
            n++;
    char **v = calloc(n + 1, sizeof(char *));
    if (!v)
        return NULL;
    size_t k = 0;
    for (uint32_t i = 0; i < len;) {
        v[k++] = (char *)s + i;
        i += strlen(s + i) + 1; /* the parser put a NUL after the last byte */
    }
    v[k] = NULL;
    return v;
}

int berth_plan_parse(const uint8_t *buf, uint64_t len, struct berth_plan *plan, char *err, size_t errlen)
{
    struct reader r = {buf, buf + len};
    uint32_t magic, version, nops;

    memset(plan, 0, sizeof(*plan));
    if (!buf && len)
        return perr(err, errlen, "parse plan: no buffer");
    if (rd(&r, &magic, 4) || rd(&r, &version, 4) || rd(&r, &nops, 4))
        return perr(err, errlen, "parse plan: truncated header");
    if (magic != BERTH_PLAN_MAGIC)
        return perr(err, errlen, "parse plan: bad magic 0x%08x", magic);
    if (version != BERTH_PLAN_VERSION)
        return perr(err, errlen, "parse plan: unsupported version %u", version);
    /* every op takes at least 8 bytes, every arg at least 5: bounds for the arrays */
    if (nops > len / 8)
        return perr(err, errlen, "parse plan: truncated (%u ops declared)", nops);
    size_t maxargs = len / 5 + 1;
    plan->ops = calloc(nops ? nops : 1, sizeof(*plan->ops));
    plan->args = calloc(maxargs, sizeof(*plan->args));
    /* each byte arg is stored 8-aligned with a NUL: len + 8 bytes per arg at most */
    plan->bytes = malloc(len + 8 * maxargs);
    if (!plan->ops || !plan->args || !plan->bytes) {
        berth_plan_free(plan);
        if (err && errlen)
            snprintf(err, errlen, "parse plan: out of memory");
        errno = ENOMEM;
        return -1;
    }
    plan->nops = nops;
    plan->nargs = maxargs;

    size_t nargs = 0, boff = 0;
    for (uint32_t i = 0; i < nops; i++) {
        struct berth_op_rec *op = &plan->ops[i];
        if (rd(&r, &op->op, 2) || rd(&r, &op->flags, 2) || rd(&r, &op->argc, 4))
            goto truncated;
        if (op->op >= OP_MAX || !op_table[op->op].sig) {
            perr(err, errlen, "parse plan: op %u: unknown op %u", i, op->op);
            goto fail;
        }
        const char *sig = op_table[op->op].sig;
        if (op->argc != strlen(sig)) {
            perr(err, errlen, "parse plan: op %u (%s): %u arguments, expected %zu", i, op_table[op->op].name, op->argc,
                 strlen(sig));
            goto fail;
        }
        op->args = &plan->args[nargs];
        for (uint32_t a = 0; a < op->argc; a++) {
            struct berth_arg *arg = &plan->args[nargs];
            uint8_t kind;
            if (nargs >= maxargs || rd(&r, &kind, 1))
                goto truncated;
            int want = sig[a] == 'i' ? BERTH_ARG_INT : BERTH_ARG_BYTES;
            if (kind != want) {
                perr(err, errlen, "parse plan: op %u (%s): argument %u must be %s", i, op_table[op->op].name, a,
                     want == BERTH_ARG_INT ? "an integer" : "bytes");
                goto fail;
            }
            arg->kind = kind;
            if (kind == BERTH_ARG_INT) {
                if (rd(&r, &arg->u, 8))
                    goto truncated;
            } else {
                uint32_t n;
                if (rd(&r, &n, 4) || (uint64_t)(r.end - r.p) < n)
                    goto truncated;
                char *dst = plan->bytes + boff;
                memcpy(dst, r.p, n);
                dst[n] = '\0';
                r.p += n;
                boff += (n + 1 + 7) & ~(size_t)7;
                arg->s = dst;
                arg->len = n;
                if (sig[a] == 'l' && !(arg->list = split_list(dst, n))) {
                    errno = ENOMEM;
                    if (err && errlen)
                        snprintf(err, errlen, "parse plan: out of memory");
                    berth_plan_free(plan);
                    return -1;
                }
            }
            nargs++;
        }
    }
    if (r.p != r.end) {
        perr(err, errlen, "parse plan: %zu trailing bytes", (size_t)(r.end - r.p));
        goto fail;
    }
    return 0;

truncated:
    perr(err, errlen, "parse plan: truncated");
fail:
    berth_plan_free(plan);
    errno = EINVAL;
    return -1;
}

void berth_plan_free(struct berth_plan *plan)
{
    /* list vectors: args are zeroed by calloc, so walking every slot is safe */
    for (size_t i = 0; plan->args && i < plan->nargs; i++)
        free(plan->args[i].list);
    free(plan->ops);
    free(plan->args);
    free(plan->bytes);
    memset(plan, 0, sizeof(*plan));
}
