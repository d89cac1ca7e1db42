/* record.h — the commit record of a persistent array, the content of <name>.meta:
 * one line of text naming the inode of the data file it commits, the owner, group,
 * permission bits and creation time, and ending in a CRC-32C of what precedes it
 * (daemon/STORE.md). Pure: formats and verifies bytes; never touches a file.
 */
#ifndef DAEMON_RECORD_H
#define DAEMON_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_MAX 192 /* bytes of the longest record, with room to spare */

struct record {
    unsigned version;  /* RECORD_VERSION, or 1: written by sharr before records named
                        * their data file (no inode, no checksum) */
    uint64_t ino;      /* the inode of the .npy it commits (version 2) */
    uint32_t uid, gid;
    uint32_t perm;     /* 0777 at most */
    int64_t ctime_ns;
};

#define RECORD_VERSION 2

/* CRC-32C of len bytes at p (the records' checksum; iSCSI's, "123456789" -> e3069283),
 * with SSE 4.2's instruction where the CPU has it. */
uint32_t record_crc32c(const char *p, size_t len);

/* Write r (version RECORD_VERSION) as its one line into out; returns its length. */
size_t record_format(const struct record *r, char out[RECORD_MAX]);

/* Verify the len bytes at text as a complete record and fill *ret: exactly one line,
 * every field in its canonical form (the record formats back to the same bytes), the
 * checksum matching, perm at most 0777. Version 1 lines (no checksum) are accepted
 * only in exactly the form sharr wrote them. 0, or -EINVAL with the reason in err. */
int record_parse(const char *text, size_t len, struct record *ret, char *err, size_t errlen);

#endif
