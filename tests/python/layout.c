/* layout.c — the layout of every struct in sharr.h as the C compiler lays it out,
 * printed as JSON ({"sharr_info": {"size": n, "fields": {"name": [offset, size]}}},
 * and "constants": the limits and flags) for test_layout.py, which checks the ctypes
 * mirrors in python/sharr/_lib.py against it. sharr_info's and sharr_stats's fields
 * come from the records' tables (proto/meta.h, proto/stats.h), which libsharr's copies
 * into them expand from.
 * Adding a field to sharr.h without adding it here moves "reserved" (or the size),
 * which the test sees too.
 */
#include <stddef.h>
#include <stdio.h>

#include "sharr.h"
#include "meta.h"
#include "stats.h"

#define FIELD(type, f) \
    printf("%s\"%s\": [%zu, %zu]", first ? "" : ", ", #f, offsetof(struct type, f), \
           sizeof(((struct type *)0)->f)), first = 0
#define BEGIN(type) \
    printf("%s\"%s\": {\"size\": %zu, \"fields\": {", nstructs++ ? ", " : "", #type, \
           sizeof(struct type)), first = 1
#define END() printf("}}")

int main(void)
{
    int nstructs = 0, first;

    printf("{");
    BEGIN(sharr_info);
    /* The fields of meta.h's record, and those the copy adds (itemsize, ndim). */
#define INFO_FIELD(id, field, key, kind, required) FIELD(sharr_info, field);
    META_FIELDS(INFO_FIELD)
#undef INFO_FIELD
    FIELD(sharr_info, itemsize); FIELD(sharr_info, ndim); FIELD(sharr_info, reserved);
    END();
    BEGIN(sharr_server);
    FIELD(sharr_server, version); FIELD(sharr_server, server); FIELD(sharr_server, pid);
    FIELD(sharr_server, max_name); FIELD(sharr_server, max_ndim);
    FIELD(sharr_server, max_request); FIELD(sharr_server, list_page_max);
    FIELD(sharr_server, id); FIELD(sharr_server, store_id);
    FIELD(sharr_server, reserved);
    END();
    BEGIN(sharr_stats);
    /* The fields of proto/stats.h's table: _lib.Stats is checked against the record. */
#define STATS_FIELD(field, type, key, required) FIELD(sharr_stats, field);
    PROTO_STATS_FIELDS(STATS_FIELD)
#undef STATS_FIELD
    FIELD(sharr_stats, reserved);
    END();
    BEGIN(sharr_holder);
    FIELD(sharr_holder, handle); FIELD(sharr_holder, name); FIELD(sharr_holder, pid);
    FIELD(sharr_holder, uid); FIELD(sharr_holder, gid); FIELD(sharr_holder, comm);
    FIELD(sharr_holder, mode); FIELD(sharr_holder, since_ns); FIELD(sharr_holder, nbytes);
    FIELD(sharr_holder, persist); FIELD(sharr_holder, unlinked);
    FIELD(sharr_holder, reserved);
    END();
    BEGIN(sharr_event);
    FIELD(sharr_event, kind); FIELD(sharr_event, reserved0); FIELD(sharr_event, lost);
    FIELD(sharr_event, info); FIELD(sharr_event, reserved);
    END();
    BEGIN(sharr_create_opts);
    FIELD(sharr_create_opts, size); FIELD(sharr_create_opts, order);
    FIELD(sharr_create_opts, persist); FIELD(sharr_create_opts, perm);
    FIELD(sharr_create_opts, overwrite); FIELD(sharr_create_opts, flags);
    FIELD(sharr_create_opts, max_len);
    END();
    BEGIN(sharr_open_opts);
    FIELD(sharr_open_opts, size); FIELD(sharr_open_opts, wait_ms);
    FIELD(sharr_open_opts, flags); FIELD(sharr_open_opts, owner);
    END();
    printf(", \"constants\": {\"NAME_MAX\": %d, \"NDIM_MAX\": %d, \"DTYPE_MAX\": %d, "
           "\"DESCR_MAX\": %d, \"PATH_MAX\": %d, \"SOCKET_MAX\": %d, \"F_NOMAP\": %d, \"F_POPULATE\": %d, "
           "\"F_OWNER\": %d, \"ID_KEEP\": %u}", SHARR_NAME_MAX, SHARR_NDIM_MAX,
           SHARR_DTYPE_MAX, SHARR_DESCR_MAX, SHARR_PATH_MAX, SHARR_SOCKET_MAX, SHARR_F_NOMAP, SHARR_F_POPULATE,
           SHARR_F_OWNER, (unsigned)SHARR_ID_KEEP);
    printf("}\n");
    return 0;
}
