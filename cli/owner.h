/* owner.h — the sharr CLI's reading of chown's USER[:GROUP] and chmod's MODE:
 * names through the user and group databases, numbers as they are.
 *
 * No I/O beyond getpwnam_r/getgrnam_r; messages go to the caller's buffer.
 */
#ifndef CLI_OWNER_H
#define CLI_OWNER_H

#include <stddef.h>
#include <stdint.h>

/* "user", "user:group", ":group", "uid:gid", "user:" into *ret_uid and *ret_gid,
 * SHARR_ID_KEEP for the part not given. 0, or -EINVAL/-ENOENT with a message. */
int owner_parse(const char *spec, uint32_t *ret_uid, uint32_t *ret_gid, char *err,
                size_t errlen);

/* A user name or uid ("alice", "1000", "0") into *ret_uid: the owner= of an open.
 * 0, or -EINVAL/-ENOENT with a message. */
int owner_parse_user(const char *s, uint32_t *ret_uid, char *err, size_t errlen);

/* An octal mode 0..0777 ("640", "0640"). 0 or -EINVAL with a message. */
int owner_parse_mode(const char *s, uint32_t *ret_perm, char *err, size_t errlen);

#endif
