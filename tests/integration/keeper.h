/* keeper.h — a known array that error tests check stays intact.
 *
 * An error test creates "keep" with a fixed pattern first; after each error it
 * checks that the daemon is alive, that its own connection and a fresh one are still
 * served, and that "keep" holds the same pattern through the old and a new mapping.
 */
#ifndef KEEPER_H
#define KEEPER_H

#include "harness.h"

#define KEEPER_NAME "keep"
#define KEEPER_N 512u

struct keeper {
    struct harness *h;
    sharr_t *conn;
    sharr_array_t *arr; /* "keep", attached r+ since its create */
};

/* Connect and create "keep" in the harness's daemon. */
void keeper_start(struct keeper *k, struct harness *h);
/* Fail the test unless the daemon still serves and "keep" is intact. */
void keeper_check(const struct keeper *k);
/* Release "keep" and the connection. */
void keeper_stop(struct keeper *k);

#endif
