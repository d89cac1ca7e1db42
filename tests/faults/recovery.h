/* recovery.h — what the tests of sharrd's recovery of its store share: arrays made by
 * root and two unprivileged uids (forked children) with a known pattern, files of a
 * stopped daemon's store edited by hand, and checks of what the restarted daemon
 * serves (daemon/STORE.md, "Recovery"). The tests run as root, as does their sharrd.
 */
#ifndef RECOVERY_H
#define RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"

#define U1 61001u   /* the two unprivileged uids (gid the same) */
#define U2 61002u
#define OLD_N 4096u /* elements of an array, and of the one that overwrites it */
#define NEW_N 8192u

/* cmocka setup: harness_setup, then other uids may reach the socket; the harness is
 * the one recovery_child_connect and recovery_as_uid use until the next setup. */
int recovery_setup(void **state);

/* In a child: a connection to the harness's daemon (the child fails without one). */
sharr_t *recovery_child_connect(void);

/* What recovery_child_create does: create (or overwrite) name with n <u8 elements,
 * perm and persist, filled with the pattern of seed; its result must be want (1: any
 * failure, as when the daemon dies). */
struct recovery_job {
    const char *name;
    uint64_t n;
    uint32_t perm;
    int overwrite;
    uint64_t seed;
    int want;
};
int recovery_child_create(void *job);

/* Create each of jobs (their want 0) as uid, then stop the daemon (asserting a clean
 * exit) so that the test can edit its store. */
void recovery_make(struct harness *h, uint32_t uid, const struct recovery_job *jobs, size_t n);

/* A child running one model operation (a struct model_op): exit 0 when it succeeded,
 * 1 when it failed. */
int recovery_child_op(void *op);

/* Run fn(arg) in a child of uid (gid the same; root forks as it is); its exit code. */
int recovery_as_uid(uint32_t uid, int (*fn)(void *), void *arg);
/* The same, failing the test unless it exits 0. */
void recovery_as_user(uint32_t uid, int (*fn)(void *), void *arg);

/* name exists with n elements of pattern seed, owner uid and perm. */
void recovery_assert_array(struct harness *h, const char *name, uint64_t n, uint64_t seed,
                           uint32_t uid, uint32_t perm);
/* name is no array. */
void recovery_assert_absent(struct harness *h, const char *name);
/* Every request naming the damaged array name fails with EIO and says so. */
void recovery_assert_damaged(struct harness *h, const char *name);

/* Files of h's store, the daemon stopped: file written with text (created or
 * truncated), renamed, copied to a new inode with the same bytes, read (up to len - 1
 * bytes, NUL-terminated; *ret_n gets how many). */
void recovery_plant(const struct harness *h, const char *file, const char *text);
void recovery_plant_rename(const struct harness *h, const char *from, const char *to);
void recovery_plant_copy(const struct harness *h, const char *from, const char *to);
void recovery_read_file(const struct harness *h, const char *file, char *out, size_t len,
                        size_t *ret_n);
/* Write a version 2 record of uid and gid 61001 (U1) whose checksum matches (CRC-32C as
 * record.c writes it), naming inode ino, with perm (its octal text), to file. */
void recovery_plant_record(const struct harness *h, const char *file,
                           unsigned long long ino, const char *perm);

#endif
