/* event.c — the wire names of the event kinds (event.h), both ways. */
#include "event.h"

#include <string.h>

const char *event_kind_name(int kind)
{
    switch (kind) {
#define EVENT_NAME_CASE(id, wire, number) case number: return wire;
    EVENT_KINDS(EVENT_NAME_CASE)
#undef EVENT_NAME_CASE
    default:
        return NULL;
    }
}

int event_kind_parse(const char *s, size_t len)
{
#define EVENT_PARSE_ONE(id, wire, number)                                   \
    if (len == sizeof(wire) - 1 && memcmp(s, wire, len) == 0)               \
        return number;
    EVENT_KINDS(EVENT_PARSE_ONE)
#undef EVENT_PARSE_ONE
    return 0;
}
