/* recovery.c — the recovery tests' arrays, children of other uids, files planted in a
 * stopped daemon's store, and checks of what the daemon serves after (recovery.h).
 */
#include "recovery.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asuser.h"
#include "model.h"

static struct harness *recovery_h; /* for the children, which only read it */

int recovery_setup(void **state)
{
    int r = harness_setup(state);
    if (r == 0) {
        recovery_h = *state;
        asuser_open_dir(recovery_h);
    }
    return r;
}

sharr_t *recovery_child_connect(void)
{
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(recovery_h->sock, &c) == 0);
    return c;
}

int recovery_child_create(void *arg)
{
    const struct recovery_job *j = arg;
    const uint64_t shape[1] = { j->n };
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1, .perm = j->perm,
                                   .overwrite = j->overwrite };
    sharr_array_t *a = NULL;
    sharr_t *c = recovery_child_connect();

    int rc = sharr_create(c, j->name, "<u8", 1, shape, &o, &a);
    if (j->want != 1)
        CHILD_CHECK(rc == j->want);
    else
        CHILD_CHECK(rc != 0); /* 1: any failure (the daemon died) */
    if (rc == 0) {
        fault_fill(sharr_array_data(a), j->n * 8, j->seed);
        CHILD_CHECK(sharr_sync(a) == 0);
        CHILD_CHECK(sharr_close(a) == 0);
    }
    sharr_disconnect(c);
    return 0;
}

void recovery_make(struct harness *h, uint32_t uid, const struct recovery_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        recovery_as_user(uid, recovery_child_create, (void *)&jobs[i]);
    assert_int_equal(harness_daemon_stop(h), 0);
}

int recovery_child_op(void *arg)
{
    sharr_t *c = recovery_child_connect();
    int rc = model_do(c, arg);
    sharr_disconnect(c);
    return rc == 0 ? 0 : 1;
}

int recovery_as_uid(uint32_t uid, int (*fn)(void *), void *arg)
{
    if (uid != 0)
        return asuser_run(recovery_h, uid, uid, fn, arg);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void recovery_as_user(uint32_t uid, int (*fn)(void *), void *arg)
{
    assert_int_equal(recovery_as_uid(uid, fn, arg), 0);
}

/* name exists with n elements of pattern seed, owner uid and perm. */
void recovery_assert_array(struct harness *h, const char *name, uint64_t n, uint64_t seed,
                           uint32_t uid, uint32_t perm)
{
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
    const struct sharr_info *in = sharr_array_info(a);
    assert_int_equal(in->shape[0], n);
    assert_int_equal(in->uid, uid);
    assert_int_equal(in->perm, perm);
    assert_true(fault_check(sharr_array_data(a), n * 8, seed));
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* name is no array. */
void recovery_assert_absent(struct harness *h, const char *name)
{
    sharr_t *c = harness_connect(h);
    struct sharr_info in;
    assert_rc(sharr_stat(c, name, &in), -ENOENT);
    sharr_disconnect(c);
}

/* Every request naming a damaged array fails with EIO and says so. */
void recovery_assert_damaged(struct harness *h, const char *name)
{
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_info in;
    assert_rc(sharr_open(c, name, "r", NULL, &a), -EIO);
    assert_non_null(strstr(sharr_last_error(), "is damaged"));
    struct sharr_open_opts wait = { .size = sizeof(wait), .wait_ms = -1 };
    assert_rc(sharr_open(c, name, "r", &wait, &a), -EIO); /* no waiting forever */
    assert_rc(sharr_stat(c, name, &in), -EIO);
    assert_rc(sharr_unlink(c, name), -EIO);
    assert_rc(sharr_chmod(c, name, 0666), -EIO);
    assert_rc(sharr_chown(c, name, U2, U2), -EIO);
    sharr_disconnect(c);
}

void recovery_plant(const struct harness *h, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", h->store, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

void recovery_plant_rename(const struct harness *h, const char *from, const char *to)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", h->store, from);
    snprintf(b, sizeof b, "%s/%s", h->store, to);
    assert_int_equal(rename(a, b), 0);
}

/* Copy the store's file from to to, a new inode with the same bytes. */
void recovery_plant_copy(const struct harness *h, const char *from, const char *to)
{
    char a[512], b[512], buf[8192];
    snprintf(a, sizeof a, "%s/%s", h->store, from);
    snprintf(b, sizeof b, "%s/%s", h->store, to);
    int in = open(a, O_RDONLY | O_CLOEXEC);
    int out = open(b, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

void recovery_read_file(const struct harness *h, const char *file, char *out, size_t len,
                        size_t *ret_n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", h->store, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, out, len - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
    *ret_n = (size_t)n;
}

/* CRC-32C as record.c writes it, to forge a record whose checksum matches. */
static uint32_t recovery_crc32c(const char *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint8_t)p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void recovery_plant_record(const struct harness *h, const char *file,
                           unsigned long long ino, const char *perm)
{
    char text[256];
    int n = snprintf(text, sizeof text, "sharr-meta 2 ino=%llu uid=61001 gid=61001 perm=%s "
                     "ctime=1700000000000000000 crc32c=", ino, perm);
    snprintf(text + n, sizeof text - (size_t)n, "%08x\n", recovery_crc32c(text, (size_t)n));
    recovery_plant(h, file, text);
}
