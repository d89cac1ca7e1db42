/* peers.c — one record per uid with a connection, in a list searched at accept only:
 * a connection keeps a pointer to its uid's record, so counting a wait or an
 * attachment costs nothing more. Only uids that connect are here, and only a
 * privileged process can take on many uids.
 */
#include "peers.h"

#include <stdlib.h>

const struct peers_uid *peers_find(const struct peers *p, uint32_t uid)
{
    for (const struct peers_uid *u = p->head; u; u = u->next) {
        if (u->uid == uid)
            return u;
    }
    return NULL;
}

struct peers_uid *peers_join(struct peers *p, uint32_t uid)
{
    struct peers_uid *u = (struct peers_uid *)peers_find(p, uid);

    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u)
            return NULL;
        u->uid = uid;
        u->next = p->head;
        p->head = u;
    }
    u->conns++;
    return u;
}

void peers_leave(struct peers *p, struct peers_uid *u)
{
    struct peers_uid **pp;

    if (--u->conns > 0)
        return;
    for (pp = &p->head; *pp != u; pp = &(*pp)->next)
        ;
    *pp = u->next;
    free(u);
}
