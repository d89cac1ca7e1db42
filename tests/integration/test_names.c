/* test_names.c — who may take a name, and what a consumer can require of its owner.
 *
 * Names are one namespace for all users, so one user can create the name another
 * waits for (a squatter) and receive what the waiter writes. These tests show the
 * defences: an open that names the owner it trusts (owner=) refuses anybody else's
 * array, also when it was waiting; names under uid<N>. are only N's (and root's) to
 * create; and what a user learns of the arrays it may not read. The test runs as
 * root; the victim (nobody) and the squatter (SQUATTER_UID) are forked children.
 * The library checks the owner again in the reply: shown against a stand-in for an
 * older sharrd that ignores owner=.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "asuser.h"
#include "codec.h"
#include "decoder.h"
#include "keeper.h"
#include "rawconn.h"
#include "testskip.h"

#define VICTIM_UID ASUSER_UID
#define VICTIM_GID ASUSER_GID
#define SQUATTER_UID 4242u
#define SQUATTER_GID 4242u
#define SQUATTER_TEXT "4242" /* what must not show in messages about its private arrays */
#define WAIT_MS 60000

static struct harness *g_h; /* for the children, which only read it */

/* Create name (<i4, 256 elements, each = fill; 0 writes nothing) with perm, and close
 * it. */
static int make(sharr_t *c, const char *name, uint32_t perm, int32_t fill)
{
    const uint64_t shape[1] = { 256 };
    struct sharr_create_opts o = { .size = sizeof(o), .perm = perm };
    sharr_array_t *a = NULL;
    int rc = sharr_create(c, name, "<i4", 1, shape, &o, &a);
    if (rc < 0)
        return rc;
    int32_t *v = sharr_array_data(a);
    for (int i = 0; fill != 0 && i < 256; i++)
        v[i] = fill;
    return sharr_close(a);
}

/* The last error message does not name the squatter's uid or gid. */
static int quiet(void)
{
    return strstr(sharr_last_error(), SQUATTER_TEXT) == NULL;
}

/* The squatter creates name, writable by all and zero (it writes nothing: a waiter
 * may write as soon as the create is done). */
static int child_squat(void *arg)
{
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(make(c, arg, 0666, 0) == 0);
    sharr_disconnect(c);
    return 0;
}

/* ---- raw open requests: owner= is checked by the daemon ---- */

static void pack_open(struct rawconn *rc, uint32_t msgid, const char *name, const char *mode,
                      int64_t wait_ms, void (*owner)(msgpack_packer *pk))
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rawconn_pack_request_head(&pk, msgid, "open");
    msgpack_pack_map(&pk, owner != NULL ? 4 : 3);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    msgpack_pack_str_with_body(&pk, "mode", 4);
    msgpack_pack_str_with_body(&pk, mode, strlen(mode));
    msgpack_pack_str_with_body(&pk, "wait_ms", 7);
    msgpack_pack_int64(&pk, wait_ms);
    if (owner != NULL) {
        msgpack_pack_str_with_body(&pk, "owner", 5);
        owner(&pk);
    }
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
}

static void owner_victim(msgpack_packer *pk) { msgpack_pack_uint32(pk, VICTIM_UID); }
static void owner_root(msgpack_packer *pk) { msgpack_pack_uint32(pk, 0); }
static void owner_negative(msgpack_packer *pk) { msgpack_pack_int64(pk, -1); }
static void owner_uint32_max(msgpack_packer *pk) { msgpack_pack_uint32(pk, UINT32_MAX); }
static void owner_huge(msgpack_packer *pk) { msgpack_pack_uint64(pk, 1ull << 40); }
static void owner_str(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "nobody", 6); }
static void owner_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }

static void test_open_with_owner_is_refused_by_the_daemon_also_after_a_wait(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    assert_rc(make(k.conn, "rooted", 0666, 1), 0);
    struct rawconn rc;
    rawconn_open(&rc, h->sock, 4096);
    rawconn_hello(&rc, 0);
    /* Another owner than the one required: EACCES, and no descriptor. */
    pack_open(&rc, 1, "rooted", "r", 0, owner_victim);
    rawconn_expect_reply(&rc, 1, "EACCES", NULL);
    assert_int_equal(rc.nfds, 0);
    pack_open(&rc, 2, "rooted", "r", 0, owner_root);
    rawconn_expect_reply(&rc, 2, NULL, NULL);
    close(rawconn_take_fd(&rc, NULL));
    /* A wait for a name that a squatter then creates ends in EACCES, not its array. */
    pack_open(&rc, 3, "awaited", "r+", WAIT_MS, owner_victim);
    /* The daemon handles a connection's messages in order: once this stat is answered,
     * the open above is waiting. */
    rawconn_send_name(&rc, 4, "stat", "awaited");
    rawconn_expect_reply(&rc, 4, "ENOENT", NULL);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squat, "awaited"), 0);
    rawconn_expect_reply(&rc, 3, "EACCES", NULL);
    assert_int_equal(rc.nfds, 0);
    /* Bad owners are EINVAL, and the connection goes on. */
    void (*bad[])(msgpack_packer *) = { owner_negative, owner_uint32_max, owner_huge, owner_str,
                                        owner_nil };
    for (uint32_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pack_open(&rc, 10 + i, "rooted", "r", 0, bad[i]);
        rawconn_expect_reply(&rc, 10 + i, "EINVAL", NULL);
    }
    assert_int_equal(rc.nfds, 0);
    rawconn_close(&rc);
    /* Only the keeper's attachment is left; the squatter's array was never attached. */
    assert_int_equal(harness_wait_attachments(k.conn, 1), 1);
    struct sharr_info info;
    assert_rc(sharr_stat(k.conn, "awaited", &info), 0);
    assert_int_equal(info.uid, SQUATTER_UID);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- names under uid<N>. ---- */

static int child_squat_prefixes(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    /* Another uid's names, root's, and digits that are no uid's canonical number. */
    CHILD_CHECK(make(c, "uid65534.results", 0666, 9) == -EACCES);
    CHILD_CHECK(strstr(sharr_last_error(), "uid 65534") != NULL);
    CHILD_CHECK(make(c, "uid65534.late", 0666, 9) == -EACCES);
    CHILD_CHECK(make(c, "uid0.x", 0666, 9) == -EACCES);
    CHILD_CHECK(make(c, "uid04242.x", 0666, 9) == -EACCES);
    /* The message quotes the name's own prefix, not the canonical one of its uid. */
    CHILD_CHECK(strstr(sharr_last_error(), "begin uid04242. are uid 0's") != NULL);
    CHILD_CHECK(make(c, "uid99999999999.x", 0666, 9) == -EACCES);
    CHILD_CHECK(strstr(sharr_last_error(), "begin uid99999999999. are uid 0's") != NULL);
    /* Its own, and names that only look alike. */
    CHILD_CHECK(make(c, "uid4242.mine", 0644, 9) == 0);
    CHILD_CHECK(make(c, "uid4242", 0644, 9) == 0);
    CHILD_CHECK(make(c, "uid.x", 0644, 9) == 0);
    CHILD_CHECK(make(c, "uidx.4242", 0644, 9) == 0);
    CHILD_CHECK(make(c, "uid4242x.y", 0644, 9) == 0);
    CHILD_CHECK(make(c, "Uid65534.x", 0644, 9) == 0);
    sharr_disconnect(c);
    return 0;
}

static int child_victim_prefix(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(make(c, "uid65534.results", 0666, 5) == 0);
    sharr_disconnect(c);
    return 0;
}

static int child_squat_overwrite(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    const uint64_t shape[1] = { 4 };
    struct sharr_create_opts o = { .size = sizeof(o), .overwrite = 1, .perm = 0666 };
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "uid65534.results", "<i4", 1, shape, &o, &a) == -EACCES);
    /* Reading follows the permission bits, as everywhere. */
    CHILD_CHECK(harness_open_rc(c, "uid65534.results", "r+") == 0);
    sharr_disconnect(c);
    return 0;
}

/* The victim waits for a name under its own prefix without saying whose it must be. */
static int child_victim_waits_in_prefix(int rfd, int wfd, void *arg)
{
    (void)arg;
    char cmd = 0;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_open_opts o = { .size = sizeof(o), .wait_ms = WAIT_MS };
    CHILD_CHECK(asuser_become(VICTIM_UID, VICTIM_GID) == 0);
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(chan_put(wfd, "w", 1) == 0);
    int rc = sharr_open(c, "uid65534.late", "r+", &o, &a);
    CHILD_CHECK(chan_put(wfd, &rc, sizeof rc) == 0);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(sharr_array_info(a)->uid == VICTIM_UID);
    /* Once its producer has filled it. */
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'v');
    CHILD_CHECK(((int32_t *)sharr_array_data(a))[255] == 3);
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return 0;
}

static int child_victim_produces_late(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(make(c, "uid65534.late", 0600, 3) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_names_under_uid_prefix_are_created_only_by_that_uid_and_root(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    struct harness_child waiter;
    harness_child_start(h, &waiter, child_victim_waits_in_prefix, NULL);
    char ack = 0;
    harness_get(waiter.from, &ack, 1);
    assert_int_equal(ack, 'w');
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squat_prefixes, NULL), 0);
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID, child_victim_prefix, NULL), 0);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squat_overwrite, NULL), 0);
    /* The waiter waited through the squatter's try and got its own producer's array. */
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID, child_victim_produces_late, NULL), 0);
    int rc = -1;
    harness_get(waiter.from, &rc, sizeof rc);
    assert_rc(rc, 0);
    harness_put(waiter.to, "v", 1);
    assert_int_equal(harness_child_wait(h, &waiter), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(k.conn, "uid65534.results", &info), 0);
    assert_int_equal(info.uid, VICTIM_UID);
    assert_int_equal(info.shape[0], 256);
    assert_rc(sharr_stat(k.conn, "uid4242.mine", &info), 0);
    assert_int_equal(info.uid, SQUATTER_UID);
    /* Root may create in any prefix; an owner there is that uid or root, even for root. */
    assert_rc(make(k.conn, "uid4242.from-root", 0600, 1), 0);
    assert_rc(sharr_chown(k.conn, "uid4242.from-root", VICTIM_UID, SHARR_ID_KEEP), -EPERM);
    assert_non_null(strstr(sharr_last_error(), "(uid4242.)"));
    assert_rc(make(k.conn, "uid007.x", 0600, 1), 0);
    assert_rc(sharr_chown(k.conn, "uid007.x", 7, SHARR_ID_KEEP), -EPERM);
    assert_non_null(strstr(sharr_last_error(), "lies in uid 0's names (uid007.)"));
    assert_rc(sharr_chown(k.conn, "uid4242.from-root", SQUATTER_UID, SHARR_ID_KEEP), 0);
    assert_rc(sharr_chown(k.conn, "uid4242.from-root", 0, SQUATTER_GID), 0);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- what a user learns of arrays it may not read ---- */

static int child_owner_makes(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    struct sharr_info page[8], info;
    size_t n = 0;
    int more = 1;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(make(c, "secret", 0600, 11) == 0);
    CHILD_CHECK(make(c, "public", 0644, 12) == 0);
    CHILD_CHECK(make(c, "sealed", 0600, 13) == 0);
    CHILD_CHECK(sharr_chmod(c, "sealed", 0) == 0);
    /* Its owner sees an array it gave itself no access to, and may change that. */
    CHILD_CHECK(sharr_list(c, NULL, page, 8, &n, &more) == 0 && more == 0);
    CHILD_CHECK(n == 4 && strcmp(page[2].name, "sealed") == 0 && page[2].perm == 0);
    CHILD_CHECK(sharr_stat(c, "sealed", &info) == 0 && info.uid == SQUATTER_UID);
    CHILD_CHECK(harness_open_rc(c, "sealed", "r") == -EACCES);
    sharr_disconnect(c);
    return 0;
}

static int child_other_user_probes(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_info page[8], info;
    struct sharr_holder holders[8];
    const uint64_t shape[1] = { 4 };
    struct sharr_create_opts over = { .size = sizeof(over), .overwrite = 1 };
    size_t n = 0;
    int more = 1;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    /* list and holders show only what this user may read. */
    CHILD_CHECK(sharr_list(c, NULL, page, 8, &n, &more) == 0 && more == 0);
    CHILD_CHECK(n == 2 && strcmp(page[0].name, "public") == 0 && strcmp(page[1].name, "rootpub") == 0);
    CHILD_CHECK(sharr_holders(c, "secret", 0, holders, 8, &n, &more) == 0 && n == 0);
    /* A name is public: every request tells an existing one from a free one (create
     * could not do otherwise) ... */
    CHILD_CHECK(sharr_stat(c, "nothing", &info) == -ENOENT);
    CHILD_CHECK(harness_open_rc(c, "nothing", "r") == -ENOENT);
    CHILD_CHECK(sharr_unlink(c, "nothing") == -ENOENT);
    CHILD_CHECK(sharr_stat(c, "secret", &info) == -EACCES && quiet());
    CHILD_CHECK(harness_open_rc(c, "secret", "r") == -EACCES && quiet());
    CHILD_CHECK(harness_open_rc(c, "sealed", "c") == -EACCES && quiet());
    CHILD_CHECK(sharr_unlink(c, "secret") == -EPERM && quiet());
    CHILD_CHECK(sharr_chmod(c, "secret", 0666) == -EPERM && quiet());
    CHILD_CHECK(sharr_chown(c, "secret", SHARR_ID_KEEP, VICTIM_GID) == -EPERM && quiet());
    CHILD_CHECK(make(c, "secret", 0600, 0) == -EEXIST && quiet());
    CHILD_CHECK(sharr_create(c, "secret", "<i4", 1, shape, &over, &a) == -EPERM && quiet());
    /* ... but its owner, group, mode and contents are for those who may read it. */
    CHILD_CHECK(harness_open_rc(c, "public", "r+") == -EACCES);
    CHILD_CHECK(strstr(sharr_last_error(), "owner uid " SQUATTER_TEXT) != NULL);
    CHILD_CHECK(sharr_unlink(c, "public") == -EPERM);
    CHILD_CHECK(strstr(sharr_last_error(), "uid " SQUATTER_TEXT) != NULL);
    sharr_disconnect(c);
    return 0;
}

/* The answer to a guess must not depend on whether it is right: owner= and chown's uid
 * are guesses of the owner, so each guess is answered as a request without one is. */
static int child_other_user_guesses_owners(void *arg)
{
    static const char *const names[] = { "secret", "sealed" };
    static const uint32_t guesses[] = { SQUATTER_UID, VICTIM_UID, 0, 1000 };
    char want[1024];
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    (void)arg;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        CHILD_CHECK(sharr_open(c, names[n], "r", NULL, &a) == -EACCES);
        snprintf(want, sizeof want, "%s", sharr_last_error());
        for (size_t i = 0; i < sizeof guesses / sizeof guesses[0]; i++) {
            struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_OWNER,
                                         .owner = guesses[i] };
            CHILD_CHECK(sharr_open(c, names[n], "r", &o, &a) == -EACCES);
            if (strcmp(sharr_last_error(), want) != 0)
                fprintf(stderr, "open %s, owner %u: '%s', not '%s'\n", names[n],
                        (unsigned)guesses[i], sharr_last_error(), want);
            CHILD_CHECK(strcmp(sharr_last_error(), want) == 0);
        }
        CHILD_CHECK(sharr_chown(c, names[n], SHARR_ID_KEEP, VICTIM_GID) == -EPERM);
        snprintf(want, sizeof want, "%s", sharr_last_error());
        for (size_t i = 0; i < sizeof guesses / sizeof guesses[0]; i++) {
            for (int with_gid = 0; with_gid < 2; with_gid++) {
                CHILD_CHECK(sharr_chown(c, names[n], guesses[i],
                                        with_gid ? VICTIM_GID : SHARR_ID_KEEP) == -EPERM);
                if (strcmp(sharr_last_error(), want) != 0)
                    fprintf(stderr, "chown %s to uid %u: '%s', not '%s'\n", names[n],
                            (unsigned)guesses[i], sharr_last_error(), want);
                CHILD_CHECK(strcmp(sharr_last_error(), want) == 0);
            }
        }
    }
    sharr_disconnect(c);
    return 0;
}

static void test_users_learn_names_but_not_owners_of_arrays_they_may_not_read(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    assert_rc(make(k.conn, "rootpub", 0604, 1), 0);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_owner_makes, NULL), 0);
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID, child_other_user_probes, NULL), 0);
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID, child_other_user_guesses_owners,
                                NULL), 0);
    /* Nothing changed. */
    struct sharr_info info;
    assert_rc(sharr_stat(k.conn, "secret", &info), 0);
    assert_int_equal(info.uid, SQUATTER_UID);
    assert_int_equal(info.perm, 0600);
    assert_int_equal(info.shape[0], 256);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- owner= through the library: the squatting attack and its defence ---- */

struct waiter_arg {
    const char *name;
    int with_owner;
};

/* The victim waits for name, for its own producer (same uid); once attached it
 * writes what it would write into its producer's array. Reports the open's result
 * and the owner of what it attached. */
static int child_victim_waits(int rfd, int wfd, void *arg)
{
    const struct waiter_arg *w = arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_open_opts o = { .size = sizeof(o), .wait_ms = WAIT_MS };
    char cmd = 0;
    if (w->with_owner) {
        o.flags = SHARR_F_OWNER;
        o.owner = VICTIM_UID;
    }
    CHILD_CHECK(asuser_become(VICTIM_UID, VICTIM_GID) == 0);
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(chan_put(wfd, "w", 1) == 0);
    int rc = sharr_open(c, w->name, "r+", &o, &a);
    uint32_t uid = rc == 0 ? sharr_array_info(a)->uid : UINT32_MAX;
    if (rc == 0) {
        int32_t *v = sharr_array_data(a);
        for (int i = 0; i < 256; i++)
            v[i] = 0x5ec2e7; /* the victim's private results */
        CHILD_CHECK(sharr_close(a) == 0);
    } else {
        CHILD_CHECK(rc == -EACCES && strstr(sharr_last_error(), "(owner)") != NULL);
    }
    CHILD_CHECK(chan_put(wfd, &rc, sizeof rc) == 0);
    CHILD_CHECK(chan_put(wfd, &uid, sizeof uid) == 0);
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'q');
    sharr_disconnect(c);
    return 0;
}

/* The squatter reads its array back: 1 if it holds what the victim wrote, 0 if it
 * is still zero. */
static int child_squatter_reads(void *arg)
{
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_open(c, arg, "r", NULL, &a) == 0);
    int32_t v = ((int32_t *)sharr_array_data(a))[255];
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return v == 0x5ec2e7 ? 1 : v == 0 ? 0 : 2;
}

static int child_victim_produces(void *arg)
{
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(make(c, arg, 0600, 3) == 0);
    sharr_disconnect(c);
    return 0;
}

/* The victim's producer cannot take the name back with w+: an overwrite needs the
 * owner already. */
static int child_victim_overwrites(void *arg)
{
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    const uint64_t shape[1] = { 256 };
    struct sharr_create_opts o = { .size = sizeof(o), .overwrite = 1 };
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, arg, "<i4", 1, shape, &o, &a) == -EPERM);
    CHILD_CHECK(strstr(sharr_last_error(), "belongs to uid 4242") != NULL);
    sharr_disconnect(c);
    return 0;
}

/* The victim waits for name (with or without owner=) and the squatter creates it first.
 * Returns the victim's open result; *ret_uid is the owner of what it attached. */
static int squat_while_waiting(struct harness *h, struct waiter_arg *w, uint32_t *ret_uid)
{
    struct harness_child victim;
    harness_child_start(h, &victim, child_victim_waits, w);
    char ack = 0;
    harness_get(victim.from, &ack, 1);
    assert_int_equal(ack, 'w');
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squat, (void *)w->name), 0);
    int rc = 1;
    harness_get(victim.from, &rc, sizeof rc);
    harness_get(victim.from, ret_uid, sizeof *ret_uid);
    harness_put(victim.to, "q", 1);
    assert_int_equal(harness_child_wait(h, &victim), 0);
    return rc;
}

static void test_a_waiter_with_owner_gets_eacces_not_the_squatters_array(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    uint32_t uid = 0;
    /* The attack: without owner=, the waiter attaches the squatter's array and writes
     * its results where the squatter reads them. */
    struct waiter_arg plain = { "results", 0 };
    assert_rc(squat_while_waiting(h, &plain, &uid), 0);
    assert_int_equal(uid, SQUATTER_UID);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squatter_reads, "results"),
                     1);
    /* The defence: with owner=, the same wait ends in EACCES and nothing is written. */
    struct waiter_arg guarded = { "results2", 1 };
    assert_rc(squat_while_waiting(h, &guarded, &uid), -EACCES);
    assert_int_equal(uid, UINT32_MAX);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squatter_reads,
                                "results2"), 0);
    assert_int_equal(harness_wait_attachments(k.conn, 1), 1);
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID, child_victim_overwrites, "results2"),
                     0);
    /* Once the name is free again, the victim's own producer's array is accepted. */
    assert_rc(sharr_unlink(k.conn, "results2"), 0);
    struct harness_child victim;
    harness_child_start(h, &victim, child_victim_waits, &guarded);
    char ack = 0;
    harness_get(victim.from, &ack, 1);
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID, child_victim_produces, "results2"),
                     0);
    int rc = 1;
    harness_get(victim.from, &rc, sizeof rc);
    harness_get(victim.from, &uid, sizeof uid);
    harness_put(victim.to, "q", 1);
    assert_int_equal(harness_child_wait(h, &victim), 0);
    assert_rc(rc, 0);
    assert_int_equal(uid, VICTIM_UID);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_open_with_owner_through_the_library(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squat, "theirs"), 0);
    sharr_array_t *a = NULL;
    struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_OWNER, .owner = VICTIM_UID };
    /* Root is refused too when it asked for another owner; uid 0 is an owner like any. */
    assert_rc(sharr_open(k.conn, "theirs", "r", &o, &a), -EACCES);
    assert_null(a);
    assert_non_null(strstr(sharr_last_error(), "belongs to uid 4242, not to uid 65534"));
    assert_rc(sharr_open(k.conn, KEEPER_NAME, "r", &o, &a), -EACCES);
    o.owner = 0;
    assert_rc(sharr_open(k.conn, "theirs", "c", &o, &a), -EACCES);
    assert_rc(sharr_open(k.conn, KEEPER_NAME, "r", &o, &a), 0);
    assert_rc(sharr_close(a), 0);
    o.owner = SQUATTER_UID;
    assert_rc(sharr_open(k.conn, "theirs", "r+", &o, &a), 0);
    assert_int_equal(sharr_array_info(a)->uid, SQUATTER_UID);
    assert_rc(sharr_close(a), 0);
    /* A missing name is still ENOENT. */
    assert_rc(sharr_open(k.conn, "nothing", "r", &o, &a), -ENOENT);
    /* Bad inputs are refused before anything is sent. */
    o.owner = UINT32_MAX;
    assert_rc(sharr_open(k.conn, "theirs", "r", &o, &a), -EINVAL);
    const uint64_t shape[1] = { 4 };
    struct sharr_create_opts co = { .size = sizeof(co), .flags = SHARR_F_OWNER };
    assert_rc(sharr_create(k.conn, "new", "<i4", 1, shape, &co, &a), -EINVAL);
    assert_non_null(strstr(sharr_last_error(), "SHARR_F_OWNER"));
    assert_rc(sharr_stat(k.conn, "new", &(struct sharr_info){ 0 }), -ENOENT);
    assert_int_equal(harness_wait_attachments(k.conn, 1), 1);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- the library checks the reply too: a stand-in for an older sharrd ---- */

/* Answers hello, open (with an array of SQUATTER_UID whatever the request's owner,
 * as a daemon from before owner= did), release, and ring (refused), for nconns
 * connections one after the other; notes what the opens asked and which handles
 * were released. */
struct old_daemon {
    int listen_fd;
    int nconns;
    pthread_t thread;
    int opens, owners_asked, released;
};

static void old_daemon_send(int fd, msgpack_sbuffer *sb, int pass_fd)
{
    struct iovec iov = { sb->data, sb->size };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (pass_fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)sb->size)
        print_error("old daemon: short sendmsg\n");
    msgpack_sbuffer_clear(sb);
}

static void old_daemon_answer(struct old_daemon *od, int fd, const struct codec_msg *m,
                              msgpack_sbuffer *sb)
{
    char err[256];
    if (m->type == CODEC_NOTIFY && strcmp(m->method, "release") == 0) {
        struct codec_release rel;
        if (codec_parse_release(m->params, &rel, err, sizeof err) == 0 && rel.handle == 77)
            od->released++;
        return;
    }
    if (m->type != CODEC_REQUEST)
        return;
    if (strcmp(m->method, "hello") == 0) {
        struct codec_hello_reply r = { .version = PROTO_VERSION, .server = "sharrd 0.0.9",
                                       .pid = 1, .max_name = PROTO_NAME_MAX,
                                       .max_ndim = PROTO_NDIM_MAX,
                                       .max_request = PROTO_REQUEST_MAX,
                                       .list_page_max = PROTO_LIST_PAGE_MAX };
        codec_pack_reply_hello(sb, m->msgid, &r);
        old_daemon_send(fd, sb, -1);
    } else if (strcmp(m->method, "open") == 0) {
        struct codec_open p;
        struct codec_attach_reply r = { .handle = 77 };
        if (codec_parse_open(m->params, &p, err, sizeof err) != 0)
            return;
        od->opens++;
        od->owners_asked += p.has_owner;
        snprintf(r.meta.name, sizeof r.meta.name, "%s", p.name);
        dtype_parse("<i4", &r.meta.dtype);
        r.meta.ndim = 1;
        r.meta.shape[0] = 16;
        r.meta.order = 'C';
        r.meta.nbytes = 64;
        r.meta.offset = PROTO_DATA_OFFSET;
        r.meta.perm = 0666;
        r.meta.uid = SQUATTER_UID;
        r.meta.gid = SQUATTER_GID;
        int mfd = memfd_create("old-daemon", MFD_CLOEXEC);
        if (mfd < 0 || ftruncate(mfd, PROTO_DATA_OFFSET + 64) < 0)
            print_error("old daemon: memfd\n");
        codec_pack_reply_attach(sb, m->msgid, &r);
        old_daemon_send(fd, sb, mfd);
        close(mfd);
    } else if (strcmp(m->method, "release") == 0) {
        codec_pack_reply_empty(sb, m->msgid);
        old_daemon_send(fd, sb, -1);
    } else {
        codec_pack_error(sb, m->msgid, -ENOSYS, "not in this version");
        old_daemon_send(fd, sb, -1);
    }
}

static void *old_daemon_serve(void *arg)
{
    struct old_daemon *od = arg;
    char buf[4096], err[256];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < od->nconns; i++) {
        int fd = accept4(od->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        struct decoder *dec = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
        ssize_t n;
        while (fd >= 0 && dec != NULL && (n = recv(fd, buf, sizeof buf, 0)) > 0) {
            msgpack_object obj;
            decoder_feed(dec, buf, (size_t)n);
            while (decoder_next(dec, &obj) == 1) {
                struct codec_msg m;
                if (codec_parse_msg(&obj, &m, NULL, err, sizeof err) == 0)
                    old_daemon_answer(od, fd, &m, &sb);
            }
        }
        decoder_free(dec);
        if (fd >= 0)
            close(fd);
    }
    msgpack_sbuffer_destroy(&sb);
    return NULL;
}

static void old_daemon_start(struct old_daemon *od, const char *path, int nconns)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    *od = (struct old_daemon){ .nconns = nconns };
    assert_true(strlen(path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    od->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(od->listen_fd >= 0);
    assert_int_equal(bind(od->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(listen(od->listen_fd, 4), 0);
    assert_int_equal(pthread_create(&od->thread, NULL, old_daemon_serve, od), 0);
}

static void old_daemon_join(struct old_daemon *od)
{
    assert_int_equal(pthread_join(od->thread, NULL), 0);
    close(od->listen_fd);
}

static int child_victim_opens_prefix_at_old_daemon(void *arg)
{
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    CHILD_CHECK(sharr_connect(arg, &c) == 0);
    CHILD_CHECK(sharr_open(c, "uid65534.results", "r+", NULL, &a) == -EACCES);
    CHILD_CHECK(strstr(sharr_last_error(), "uid 65534's names") != NULL);
    /* Not in a prefix and no owner asked: accepted, as by any daemon. */
    CHILD_CHECK(sharr_open(c, "results", "r", NULL, &a) == 0);
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_the_library_refuses_an_owner_an_older_daemon_did_not_check(void **state)
{
    struct harness *h = g_h = *state;
    asuser_open_dir(h);
    char path[256];
    snprintf(path, sizeof path, "%s/old.sock", h->dir);
    struct old_daemon od;
    old_daemon_start(&od, path, 2);
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_OWNER, .owner = VICTIM_UID };
    assert_rc(sharr_connect(path, &c), 0);
    assert_rc(sharr_open(c, "results", "r+", &o, &a), -EACCES);
    assert_null(a);
    assert_non_null(strstr(sharr_last_error(), "(owner)"));
    sharr_disconnect(c);
    assert_int_equal(asuser_run(h, VICTIM_UID, VICTIM_GID,
                                child_victim_opens_prefix_at_old_daemon, path), 0);
    old_daemon_join(&od);
    /* The owner went in the request; every attachment refused was released. */
    assert_int_equal(od.opens, 3);
    assert_int_equal(od.owners_asked, 1);
    assert_int_equal(od.released, 3);
}

/* ---- the sharr command's --owner ---- */

static void test_cli_owner_guards_export_and_sync(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    assert_int_equal(asuser_run(h, SQUATTER_UID, SQUATTER_GID, child_squat, "theirs"), 0);
    char out[256];
    snprintf(out, sizeof out, "%s/theirs.npy", h->dir);
    struct {
        const char *argv[8];
        int status;
        const char *err;
    } cases[] = {
        { { "export", "theirs", out, "--owner", "nobody" }, 1, "(EACCES)" },
        { { "export", "--owner=65534", "theirs", out }, 1, "not to uid 65534" },
        { { "sync", "theirs", "--owner", "root" }, 1, "(EACCES)" },
        { { "sync", "theirs", "--owner", "4242" }, 0, "" },
        { { "export", "theirs", out, "--owner", "4242" }, 0, "" },
        { { "sync", "theirs", "--owner", "no-such-user-here" }, 2, "no user named" },
        { { "sync", "theirs", "--owner", "4294967295" }, 2, "not a valid user id" },
        { { "sync", "theirs", "--owner", "-1" }, 2, "not a valid user id" },
        { { "sync", "theirs", "--owner", "" }, 2, "--owner" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[10] = { harness_cli_path() };
        for (int j = 0; cases[i].argv[j] != NULL; j++)
            argv[j + 1] = cases[i].argv[j];
        struct harness_run run;
        harness_run(h, argv, &run);
        if (run.status != cases[i].status || strstr(run.err, cases[i].err) == NULL)
            print_error("case %zu: exit %d, stderr: %s\n", i, run.status, run.err);
        assert_int_equal(run.status, cases[i].status);
        assert_non_null(strstr(run.err, cases[i].err));
        harness_run_free(&run);
        /* Only the export that named the right owner wrote the file. */
        assert_int_equal(access(out, F_OK) == 0, i >= 4);
    }
    keeper_check(&k);
    keeper_stop(&k);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_waiter_with_owner_gets_eacces_not_the_squatters_array),
        T(test_open_with_owner_is_refused_by_the_daemon_also_after_a_wait),
        T(test_open_with_owner_through_the_library),
        T(test_the_library_refuses_an_owner_an_older_daemon_did_not_check),
        T(test_cli_owner_guards_export_and_sync),
        T(test_names_under_uid_prefix_are_created_only_by_that_uid_and_root),
        T(test_users_learn_names_but_not_owners_of_arrays_they_may_not_read),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
