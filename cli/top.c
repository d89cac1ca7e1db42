/* top.c — attachments per array and per process, and what is still free.
 *
 * The holders are fetched whole (they are as many as attachments, each a few hundred
 * bytes) and grouped here: per process by pid, summing the bytes of the arrays each
 * holds; an array held twice by one process counts once in its bytes.
 */
#include "top.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define TOP_PAGE 1024

int top_holders_fetch(sharr_t *conn, const char *name, struct top_holders *hs)
{
    uint64_t after = 0;
    int more = 1, rc;

    memset(hs, 0, sizeof(*hs));
    while (more) {
        size_t n = 0;

        if (hs->cap - hs->n < TOP_PAGE) {
            struct sharr_holder *v = realloc(hs->v, (hs->cap + TOP_PAGE) * sizeof(*v));

            if (v == NULL)
                return -ENOMEM;
            hs->v = v;
            hs->cap += TOP_PAGE;
        }
        rc = sharr_holders(conn, name, after, hs->v + hs->n, TOP_PAGE, &n, &more);
        if (rc < 0)
            return rc;
        hs->n += n;
        if (n == 0)
            break;
        after = hs->v[hs->n - 1].handle;
    }
    return 0;
}

void top_holders_free(struct top_holders *hs)
{
    free(hs->v);
    memset(hs, 0, sizeof(*hs));
}

static bool top_match(const struct sharr_holder *h, const char *name)
{
    return name == NULL || strcmp(h->name, name) == 0;
}

const char *top_holders_brief(const struct top_holders *hs, const char *name, char *buf,
                              size_t len)
{
    size_t used = 0;

    snprintf(buf, len, "-");
    for (size_t i = 0; i < hs->n && used + 1 < len; i++) {
        const struct sharr_holder *h = &hs->v[i];
        int k;

        if (!top_match(h, name))
            continue;
        k = snprintf(buf + used, len - used, "%s%" PRIu32 " %s %s", used ? ", " : "", h->pid,
                     h->comm[0] ? h->comm : "?", h->mode);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    return buf;
}

static void top_holder_json(FILE *out, const struct sharr_holder *h)
{
    char user[FORMAT_USER_MAX];

    fprintf(out, "{\"array\": ");
    format_json_string(out, h->name);
    fprintf(out, ", \"pid\": %" PRIu32 ", \"uid\": %" PRIu32 ", \"gid\": %" PRIu32
            ", \"user\": ", h->pid, h->uid, h->gid);
    format_json_string(out, format_user(h->uid, user, sizeof(user)));
    fputs(", \"comm\": ", out);
    format_json_string(out, h->comm);
    fprintf(out, ", \"mode\": \"%s\", \"since_ns\": %" PRId64 ", \"nbytes\": %" PRIu64
            ", \"persist\": %s, \"unlinked\": %s, \"handle\": %" PRIu64 "}", h->mode,
            h->since_ns, h->nbytes, h->persist ? "true" : "false",
            h->unlinked ? "true" : "false", h->handle);
}

void top_holders_json(FILE *out, const struct top_holders *hs, const char *name)
{
    bool first = true;

    fputc('[', out);
    for (size_t i = 0; i < hs->n; i++) {
        if (!top_match(&hs->v[i], name))
            continue;
        fputs(first ? "" : ", ", out);
        top_holder_json(out, &hs->v[i]);
        first = false;
    }
    fputc(']', out);
}

int top_holders_table(FILE *out, const struct top_holders *hs, const char *name)
{
    static const char *const header[] = { "PID", "USER", "COMMAND", "MODE", "SINCE" };
    struct format_table *t = format_table_new("rllll");
    int rc = t != NULL ? format_table_add(t, header) : -ENOMEM;

    for (size_t i = 0; rc == 0 && i < hs->n; i++) {
        const struct sharr_holder *h = &hs->v[i];
        char pid[16], user[FORMAT_USER_MAX], when[FORMAT_TIME_MAX];
        const char *cells[5];

        if (!top_match(h, name))
            continue;
        snprintf(pid, sizeof(pid), "%" PRIu32, h->pid);
        cells[0] = pid;
        cells[1] = format_user(h->uid, user, sizeof(user));
        cells[2] = h->comm[0] ? h->comm : "?";
        cells[3] = h->mode;
        cells[4] = format_time_ns(h->since_ns, when, sizeof(when));
        rc = format_table_add(t, cells);
    }
    if (rc == 0)
        format_table_print(t, out);
    format_table_free(t);
    return rc;
}

/* One process in the per-process report. */
struct top_proc {
    uint32_t pid, uid;
    const char *comm;
    size_t attachments, arrays;
    uint64_t bytes;
};

static int top_by_pid(const void *x, const void *y)
{
    const struct sharr_holder *a = x, *b = y;

    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int top_by_bytes(const void *x, const void *y)
{
    const struct top_proc *a = x, *b = y;

    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Group hs (sorted by pid, then name) into procs (room for hs->n). */
static size_t top_group(const struct top_holders *hs, struct top_proc *procs)
{
    size_t np = 0;

    for (size_t i = 0; i < hs->n; i++) {
        const struct sharr_holder *h = &hs->v[i];
        struct top_proc *p = np > 0 && procs[np - 1].pid == h->pid ? &procs[np - 1] : NULL;
        bool new_array = p == NULL || strcmp(hs->v[i - 1].name, h->name) != 0;

        if (p == NULL) {
            p = &procs[np++];
            *p = (struct top_proc){ .pid = h->pid, .uid = h->uid, .comm = h->comm };
        }
        p->attachments++;
        if (new_array) {
            p->arrays++;
            p->bytes += h->nbytes;
        }
    }
    qsort(procs, np, sizeof(*procs), top_by_bytes);
    return np;
}

static void top_print_json(FILE *out, const struct top_holders *hs, const struct top_proc *procs,
                           size_t np, const struct sharr_stats *st)
{
    fputs("{\"processes\": [", out);
    for (size_t i = 0; i < np; i++) {
        fprintf(out, "%s\n  {\"pid\": %" PRIu32 ", \"uid\": %" PRIu32 ", \"comm\": ",
                i ? "," : "", procs[i].pid, procs[i].uid);
        format_json_string(out, procs[i].comm);
        fprintf(out, ", \"arrays\": %zu, \"attachments\": %zu, \"bytes\": %" PRIu64
                ", \"holds\": [", procs[i].arrays, procs[i].attachments, procs[i].bytes);
        for (size_t j = 0, first = 1; j < hs->n; j++) {
            if (hs->v[j].pid != procs[i].pid)
                continue;
            fputs(first ? "" : ", ", out);
            top_holder_json(out, &hs->v[j]);
            first = 0;
        }
        fputs("]}", out);
    }
    fprintf(out, "%s], \"arrays\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"bytes_volatile\": %"
            PRIu64 ", \"bytes_persistent\": %" PRIu64 ", \"connections\": %" PRIu64
            ", \"volatile_free\": %" PRIu64 ", \"volatile_capacity\": %" PRIu64
            ", \"persist_free\": %" PRIu64 ", \"persist_capacity\": %" PRIu64 "}\n",
            np ? "\n" : "", st->arrays, st->bytes, st->bytes_volatile, st->bytes_persistent,
            st->connections, st->volatile_free, st->volatile_capacity, st->persist_free,
            st->persist_capacity);
}

static int top_print_text(FILE *out, const struct top_holders *hs, const struct top_proc *procs,
                          size_t np, const struct sharr_stats *st)
{
    static const char *const header[] = { "PID", "USER", "COMMAND", "ARRAYS", "HELD", "HOLDS" };
    struct format_table *t = format_table_new("rllrrl");
    char vol[96], per[96], s1[FORMAT_SIZE_MAX], s2[FORMAT_SIZE_MAX];
    int rc = t != NULL ? format_table_add(t, header) : -ENOMEM;

    for (size_t i = 0; rc == 0 && i < np; i++) {
        char pid[16], user[FORMAT_USER_MAX], arrays[24], held[FORMAT_SIZE_MAX], holds[512];
        const char *cells[6];
        size_t used = 0;

        holds[0] = '\0';
        for (size_t j = 0; j < hs->n && used + 1 < sizeof(holds); j++) {
            const struct sharr_holder *h = &hs->v[j];
            int k;

            if (h->pid != procs[i].pid)
                continue;
            k = snprintf(holds + used, sizeof(holds) - used, "%s%s (%s)", used ? ", " : "",
                         h->name, h->mode);
            if (k < 0)
                break;
            used += (size_t)k;
        }
        snprintf(pid, sizeof(pid), "%" PRIu32, procs[i].pid);
        snprintf(arrays, sizeof(arrays), "%zu", procs[i].arrays);
        cells[0] = pid;
        cells[1] = format_user(procs[i].uid, user, sizeof(user));
        cells[2] = procs[i].comm[0] ? procs[i].comm : "?";
        cells[3] = arrays;
        cells[4] = format_size(procs[i].bytes, held, sizeof(held));
        cells[5] = holds;
        rc = format_table_add(t, cells);
    }
    if (rc == 0) {
        format_table_print(t, out);
        fprintf(out, "\n%" PRIu64 " arrays: %s volatile, %s persistent; %" PRIu64
                " connections\n", st->arrays, format_size(st->bytes_volatile, s1, sizeof(s1)),
                format_size(st->bytes_persistent, s2, sizeof(s2)), st->connections);
        fprintf(out, "free: volatile store %s; persistent store %s\n",
                format_space(st->volatile_free, st->volatile_capacity, vol, sizeof(vol)),
                format_space(st->persist_free, st->persist_capacity, per, sizeof(per)));
    }
    format_table_free(t);
    return rc;
}

int top_report(sharr_t *conn, bool json, FILE *out)
{
    struct top_holders hs;
    struct top_proc *procs = NULL;
    struct sharr_stats st;
    size_t np;
    int rc;

    rc = top_holders_fetch(conn, NULL, &hs);
    if (rc == 0)
        rc = sharr_stats(conn, &st);
    if (rc < 0)
        goto out;
    qsort(hs.v, hs.n, sizeof(*hs.v), top_by_pid);
    procs = malloc((hs.n ? hs.n : 1) * sizeof(*procs));
    if (procs == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    np = top_group(&hs, procs);
    if (json)
        top_print_json(out, &hs, procs, np, &st);
    else
        rc = top_print_text(out, &hs, procs, np, &st);
out:
    free(procs);
    top_holders_free(&hs);
    return rc;
}

void top_json_info(FILE *out, const struct sharr_info *in, const char *descr,
                   const struct top_holders *hs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL) {
        format_json_info(out, in, descr);
        return;
    }
    format_json_info(mem, in, descr);
    if (fclose(mem) != 0 || len == 0 || text[len - 1] != '}') {
        format_json_info(out, in, descr);
        free(text);
        return;
    }
    fwrite(text, 1, len - 1, out);
    fputs(", \"holders\": ", out);
    top_holders_json(out, hs, in->name);
    fputc('}', out);
    free(text);
}
