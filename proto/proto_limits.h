/* proto_limits.h — every limit of the sharr wire protocol, named once. (Not limits.h:
 * GCC's <limits.h> reaches the next limits.h on the quote path with #include_next, and
 * would take this one for glibc's.)
 *
 * Each constant here has a test in tests/unit and is reported to clients by hello.
 * Daemon policy limits (connections, quotas) live in daemon/config.h, not here.
 */
#ifndef PROTO_LIMITS_H
#define PROTO_LIMITS_H

#define PROTO_VERSION 1               /* wire protocol version, sent both ways in hello */
#define PROTO_NAME_MAX 255            /* bytes in an array name */
#define PROTO_NDIM_MAX 64             /* dimensions of an array */
#define PROTO_DTYPE_MAX 31            /* bytes in a dtype typestr */
#define PROTO_DESCR_MAX 3584          /* bytes in a record dtype's description (dtype.h) */
#define PROTO_DESCR_DEPTH_MAX 8       /* records nested in records, the outermost counted */
#define PROTO_DESCR_FIELDS_MAX 256    /* fields of a record, nested ones counted */
#define PROTO_METHOD_MAX 15           /* bytes in a method name */
#define PROTO_TEXT_MAX 255            /* bytes in free text (error messages, client names) */
#define PROTO_PATH_MAX 1024           /* bytes in a store path, with the NUL */
#define PROTO_REQUEST_MAX (64u * 1024)        /* bytes in one request frame */
#define PROTO_RESPONSE_MAX (8u * 1024 * 1024) /* bytes in one response frame */
#define PROTO_DEPTH_MAX 8             /* nesting of arrays/maps in any message */
#define PROTO_LIST_PAGE_MAX 1024      /* arrays in one list reply */
#define PROTO_LIST_PAGE_DEFAULT 256   /* when the request gives no limit */
#define PROTO_DATA_OFFSET 4096        /* data starts here in every array sharr creates */
#define PROTO_DATA_OFFSET_ALIGN 64    /* an array's data offset is a multiple of this (numpy's) */
#define PROTO_DATA_OFFSET_MAX 16384   /* largest data offset: a .npy header of 10,000 text bytes */
#define PROTO_ARRAY_BYTES_MAX (1ull << 62) /* data bytes of one array */
#define PROTO_LEN_MAX (1ull << 62)    /* length of an axis (grow, create's max_len) */

#endif
