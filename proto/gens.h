/* gens.h — the generation page: one shared, read-only page of counters through which
 * sharrd tells every client, without a message, that something happened to a name.
 *
 * The daemon makes the page once (a memfd sealed against growing, shrinking and every
 * later write but its own mapping's, method "gens") and bumps the counter of a name's
 * slot on each event that may make a cached attachment of it wrong: the name removed
 * or given to a new array, chmod, chown, grow, publish. A client reads a slot before
 * it asks for an attachment and again before it reuses one (client/attcache.c): an
 * unchanged counter means no such event happened to the name since. Names share
 * slots (a hash), so an event on one name also retires the others of its slot: that
 * costs a round trip, never a wrong answer. Layout (host byte order): uint64
 * GENS_MAGIC at byte 0, GENS_SLOTS uint64 counters from byte GENS_SLOTS_AT.
 */
#ifndef PROTO_GENS_H
#define PROTO_GENS_H

#include <stddef.h>
#include <stdint.h>

#define GENS_BYTES 65536u
#define GENS_MAGIC 0x31736e6567727273ull /* "srrgens1" */
#define GENS_SLOTS_AT 64u
#define GENS_SLOTS ((GENS_BYTES - GENS_SLOTS_AT) / 8u)

/* The slot of name (its first len bytes): FNV-1a, modulo GENS_SLOTS. */
uint32_t gens_slot(const char *name, size_t len);

/* Daemon: write the header of a fresh, zeroed page. */
void gens_format(void *page);

/* Daemon: count one more event in slot (release order: a client that sees the new
 * value sees everything the daemon wrote before). */
void gens_bump(void *page, uint32_t slot);

/* Client: the counter of slot (acquire). */
uint64_t gens_read(const void *page, uint32_t slot);

/* Client: whether page (GENS_BYTES, mapped) is a generation page. */
int gens_valid(const void *page);

#endif
