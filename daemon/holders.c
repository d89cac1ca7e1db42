/* holders.c — collect one page of attachments across all connections.
 *
 * Handles are daemon-unique and grow, so a page is the lowest `limit` handles above
 * the cursor: a bounded max-heap of candidates over one pass of every connection's
 * attachments, sorted at the end. Visibility follows list: an array the peer may
 * see (access_may_see), or an attachment of the peer's own uid.
 */
#include "holders.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "session.h"

void holders_read_comm(uint32_t pid, char *comm)
{
    char path[32];
    ssize_t n;
    int fd;

    comm[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%u/comm", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, comm, CODEC_COMM_MAX);
    close(fd);
    if (n < 0)
        n = 0;
    comm[n] = '\0';
    comm[strcspn(comm, "\n")] = '\0';
}

struct holders_item {
    const struct conn *conn;
    const struct registry_attach *att;
};

static void holders_sift_down(struct holders_item *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct holders_item t;

        if (l < n && heap[l].att->handle > heap[m].att->handle)
            m = l;
        if (r < n && heap[r].att->handle > heap[m].att->handle)
            m = r;
        if (m == i)
            return;
        t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static void holders_sift_up(struct holders_item *heap, size_t i)
{
    while (i > 0 && heap[(i - 1) / 2].att->handle < heap[i].att->handle) {
        struct holders_item t = heap[i];

        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static int holders_compare(const void *x, const void *y)
{
    const struct holders_item *a = x, *b = y;

    return a->att->handle < b->att->handle ? -1 : a->att->handle > b->att->handle;
}

int holders_collect(const struct daemon *d, const struct access_peer *peer,
                    const struct codec_holders *p, struct codec_holder *out, size_t *ret_n,
                    bool *ret_more)
{
    struct holders_item *heap = malloc((size_t)p->limit * sizeof(*heap));
    size_t n = 0;
    bool more = false;

    if (!heap)
        return -ENOMEM;
    for (const struct conn *c = d->conns.head; c; c = c->next) {
        const struct registry_attach *att;
        size_t pos = 0;

        while ((att = attachments_next(&session_of(c)->atts, &pos))) {
            const struct meta *m = &att->array->meta;

            if (att->handle <= p->after || (p->name[0] && strcmp(m->name, p->name) != 0))
                continue;
            if (!access_may_see(m, peer) && c->peer.uid != peer->uid)
                continue;
            if (n < p->limit) {
                heap[n] = (struct holders_item){ c, att };
                holders_sift_up(heap, n++);
            } else {
                more = true;
                if (att->handle < heap[0].att->handle) {
                    heap[0] = (struct holders_item){ c, att };
                    holders_sift_down(heap, n, 0);
                }
            }
        }
    }
    qsort(heap, n, sizeof(*heap), holders_compare);
    for (size_t i = 0; i < n; i++) {
        const struct registry_array *a = heap[i].att->array;

        out[i] = (struct codec_holder){
            .handle = heap[i].att->handle, .pid = heap[i].conn->peer.pid,
            .uid = heap[i].conn->peer.uid, .gid = heap[i].conn->peer.gid,
            .mode = heap[i].att->mode, .since_ns = heap[i].att->since_ns,
            .nbytes = a->meta.nbytes, .persist = a->meta.persist, .unlinked = !a->named,
        };
        memcpy(out[i].name, a->meta.name, sizeof(out[i].name));
        memcpy(out[i].comm, session_of(heap[i].conn)->comm, sizeof(out[i].comm));
    }
    free(heap);
    *ret_n = n;
    *ret_more = more;
    return 0;
}
