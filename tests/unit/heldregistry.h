/* heldregistry.h — the registry that the session and release tests attach to, built
 * inside a struct daemon of the test's own: its quotas, the registry on the daemon's
 * loop, and one array named "held" (8 bytes of uid 1000 on a memfd). Closing it checks
 * that every array was freed and no uid is left counted.
 */
#ifndef TESTS_UNIT_HELDREGISTRY_H
#define TESTS_UNIT_HELDREGISTRY_H

#include "daemon.h"

/* Start d's quotas and its registry on d->loop, which the caller has initialised. */
void heldregistry_open(struct daemon *d);

/* Add the array "held" to d's registry on a new memfd named tag; *ret_a is its entry.
 * Fails the test when it cannot be added. */
void heldregistry_add(struct daemon *d, const char *tag, struct registry_array **ret_a);

/* Close d's registry, run d->loop to its end and close it, and check that no array
 * and no uid record is left. */
void heldregistry_close(struct daemon *d);

#endif
