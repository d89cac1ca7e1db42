/* recover.h — reading a store back at start: every name's files are gathered first,
 * then each name is settled by the rules of daemon/STORE.md, whatever order the
 * directory lists them in and whichever operation a crash cut short.
 */
#ifndef DAEMON_RECOVER_H
#define DAEMON_RECOVER_H

#include "log.h"
#include "store.h"

/* Called for each array found committed; takes ownership of fd (the .npy opened
 * O_RDWR) whatever it does. m, its record description too, lives only for the call. */
typedef void recover_found_cb(void *arg, const struct meta *m, int fd);

/* Read the store s: complete a create committed before its .npy had its name, remove
 * what uncommitted work and unlinks left (.inflight-*, .tmp-*, .trash-*, a .npy
 * without its record), logging each, and call cb for every array. A name whose
 * record cannot be verified or whose data does not match it is kept as it is on
 * disk, logged and reserved with store_damage. Returns 0, or a negative errno when
 * the directory cannot be read (or memory runs out). */
int recover_store(struct store *s, const struct log_ctx *lg, recover_found_cb *cb, void *arg);

#endif
