/* storeid.h — the identity of a persistent store: a random non-zero 64-bit number
 * drawn when a store is first opened and kept in its directory as `.store-id`
 * (daemon/STORE.md), so that a client can tell this store's persistent arrays from
 * another store's across restarts of the daemon. Owns that one file; store.c reads
 * it once, at open.
 */
#ifndef DAEMON_STOREID_H
#define DAEMON_STOREID_H

#include <stddef.h>
#include <stdint.h>

#define STOREID_FILE ".store-id"
#define STOREID_TMP ".tmp-store-id"  /* junk to recovery (no array's .tmp- record) */

/* The id kept in the store directory dirfd (the daemon's own, checked and locked):
 * read from .store-id when that file verifies; else drawn at random and committed as
 * .store-id (written to .tmp-store-id, fsync, rename, fsync of the directory), so a
 * crash leaves either no .store-id or a whole one. *ret_replaced is set when an
 * existing .store-id did not verify and was replaced (the caller says so: pickles
 * that named the old id are then another store's). 0, or a negative errno with a
 * message in err. */
int storeid_load(int dirfd, uint64_t *ret_id, int *ret_replaced, char *err, size_t errlen);

#endif
