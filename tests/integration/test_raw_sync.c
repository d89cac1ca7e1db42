/* test_raw_sync.c — the daemon's sync on the wire, on plain sockets: it takes the
 * handle of an attachment of the same connection (EBADF for another's or an unknown
 * one), with a name that must be that array's if given; the name alone, as clients
 * older than handles send it, still works; params with neither are EINVAL. After each
 * case the keeper checks the daemon still serves with its arrays intact.
 */
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "keeper.h"
#include "rawconn.h"
#include "testskip.h"

/* Open the keeper read-only on rc (request msgid) and return the attachment's handle. */
static uint64_t open_keeper_handle(struct rawconn *rc, uint32_t msgid)
{
    struct codec_attach_reply att;
    close(rawconn_open_read(rc, msgid, KEEPER_NAME, &att));
    return att.handle;
}

/* Send sync with p's params and expect success (want NULL) or the error code want. */
static void send_sync(struct rawconn *rc, uint32_t msgid, const struct codec_sync *p,
                      const char *want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_sync(&sb, msgid, p), 0);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(rc, msgid, want, NULL);
}

static void test_raw_sync_takes_only_this_connections_handles(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    struct rawconn rc, other;
    rawconn_open_hello(&rc, k.h->sock, 4096);
    rawconn_open_hello(&other, k.h->sock, 4096);
    uint64_t handle = open_keeper_handle(&rc, 2);

    struct codec_sync by_handle = { .has_handle = true, .handle = handle };
    send_sync(&rc, 3, &by_handle, NULL);
    send_sync(&other, 3, &by_handle, "EBADF");
    struct codec_sync both = by_handle;
    strcpy(both.name, KEEPER_NAME);
    send_sync(&rc, 4, &both, NULL);
    strcpy(both.name, "other");
    send_sync(&rc, 5, &both, "EINVAL");
    struct codec_sync unknown = { .has_handle = true, .handle = handle + 1000 };
    send_sync(&rc, 6, &unknown, "EBADF");
    send_sync(&rc, 7, &by_handle, NULL); /* still served after the refusals */
    rawconn_close(&other);
    rawconn_close(&rc);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_raw_sync_by_name_alone_still_works_and_neither_is_einval(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    struct rawconn rc;
    rawconn_open_hello(&rc, k.h->sock, 4096);

    rawconn_send_name(&rc, 2, "sync", KEEPER_NAME);
    rawconn_expect_reply(&rc, 2, NULL, NULL);
    rawconn_send_name(&rc, 3, "sync", "absent");
    rawconn_expect_reply(&rc, 3, "ENOENT", NULL);

    /* [0, 4, "sync", [{}]] */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rawconn_request_begin(&sb, &pk, 4, "sync");
    msgpack_pack_map(&pk, 0);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, 4, "EINVAL", NULL);
    msgpack_sbuffer_destroy(&sb);
    rawconn_close(&rc);
    keeper_check(&k);
    keeper_stop(&k);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        T(test_raw_sync_takes_only_this_connections_handles),
        T(test_raw_sync_by_name_alone_still_works_and_neither_is_einval),
    };
#undef T
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
