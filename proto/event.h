/* event.h — what a watch reports (PROTOCOL.md, watch): the kinds of event on an
 * array's name, described once as EVENT_KINDS(X), from which the enum, the wire names
 * and libsharr's public numbers (SHARR_EVENT_*, checked equal) expand.
 *
 * Pure data; the codec packs and parses the notifications (codec_watch.c).
 */
#ifndef PROTO_EVENT_H
#define PROTO_EVENT_H

#include <stddef.h>

/* X(ID, wire name, number): the number is SHARR_EVENT_<ID> in sharr.h, never
 * renumbered; a new kind takes the next one. */
#define EVENT_KINDS(X)                   \
    X(CREATED, "created", 1)             \
    X(PUBLISHED, "published", 2)         \
    X(RESIZED, "resized", 3)             \
    X(REMOVED, "removed", 4)             \
    X(CHMOD, "chmod", 5)                 \
    X(CHOWN, "chown", 6)                 \
    X(OVERFLOW, "overflow", 7)

enum event_kind {
#define EVENT_ENUM(id, wire, number) EVENT_##id = number,
    EVENT_KINDS(EVENT_ENUM)
#undef EVENT_ENUM
};

/* The wire name of kind ("created"), or NULL for a number no kind has. */
const char *event_kind_name(int kind);

/* The kind whose wire name is the len bytes at s, or 0 when none is (a kind a newer
 * daemon sends). */
int event_kind_parse(const char *s, size_t len);

#endif
