/* test_session.c — what a client holds through its connection (daemon/session.c), with
 * the registry it attaches to, on a private libuv loop and without a socket: the
 * per-uid attachment limit counts every connection of the uid and spares root, a
 * closed connection takes no attachment, and closing lets go of every attachment and
 * waiting open at once.
 *
 * The connections are struct conn values the test fills (uid record, session, closing),
 * which is all session.c reads of one; no socket is opened.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "heldregistry.h"
#include "session.h"
#include "testskip.h"

struct fixture {
    struct daemon d;
    struct registry_array *a;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->d.loop), 0);
    heldregistry_open(&f->d);
    heldregistry_add(&f->d, "test_session", &f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    heldregistry_close(&f->d);
    free(f);
    return 0;
}

/* A connection of uid as daemon.c makes one, as far as session.c looks. */
static void conn_open(struct fixture *f, struct conn *c, uint32_t uid)
{
    memset(c, 0, sizeof(*c));
    c->pool = &f->d.conns;
    c->peer.uid = uid;
    c->peer.pid = (uint32_t)getpid();
    c->uid = peers_join(&f->d.peers, uid);
    c->data = session_new();
    assert_non_null(c->uid);
    assert_non_null(c->data);
    session_start(c);
}

static void conn_shut(struct fixture *f, struct conn *c)
{
    c->closing = true;
    session_close(c);
    peers_leave(&f->d.peers, c->uid);
    c->uid = NULL;
    session_free(c);
}

static int attach(struct fixture *f, struct conn *c, char *err, size_t errlen)
{
    struct registry_attach att;
    int r;

    registry_attach(&f->d.registry, f->a, META_MODE_R, &att);
    r = session_attach_add(c, &att, err, errlen);
    if (r < 0)
        registry_detach(&f->d.registry, &att);
    return r;
}

static void test_session_attachment_limit_counts_every_connection_of_the_uid(void **state)
{
    struct fixture *f = *state;
    struct conn c1, c2, other;
    char err[256] = "";

    f->d.cfg.policy.max_attachments_per_uid = 3;
    conn_open(f, &c1, 1000);
    conn_open(f, &c2, 1000);
    conn_open(f, &other, 1001);
    assert_int_equal(attach(f, &c1, err, sizeof(err)), 0);
    assert_int_equal(attach(f, &c2, err, sizeof(err)), 0);
    assert_false(session_attach_full(&c1));
    assert_int_equal(attach(f, &c1, err, sizeof(err)), 0);
    assert_true(session_attach_full(&c2));
    assert_int_equal(attach(f, &c2, err, sizeof(err)), -EMFILE);
    assert_non_null(strstr(err, "--max-attachments-per-uid"));
    assert_int_equal(attach(f, &other, err, sizeof(err)), 0); /* another uid's own count */
    assert_int_equal(f->d.registry.nattached, 4);
    conn_shut(f, &c1);
    assert_int_equal(f->d.registry.nattached, 2);
    assert_false(session_attach_full(&c2)); /* c1's two went with it */
    assert_int_equal(attach(f, &c2, err, sizeof(err)), 0);
    conn_shut(f, &c2);
    conn_shut(f, &other);
    assert_int_equal(f->d.registry.nattached, 0);
    assert_int_equal(f->a->meta.nattached, 0);
}

static void test_session_root_is_spared_the_attachment_limit(void **state)
{
    struct fixture *f = *state;
    struct conn root;
    char err[256] = "";

    f->d.cfg.policy.max_attachments_per_uid = 1;
    conn_open(f, &root, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(attach(f, &root, err, sizeof(err)), 0);
    assert_false(session_attach_full(&root));
    conn_shut(f, &root);
    assert_int_equal(f->d.registry.nattached, 0);
}

static void test_session_closed_connection_takes_no_attachment(void **state)
{
    struct fixture *f = *state;
    struct conn c;
    char err[256] = "";

    conn_open(f, &c, 1000);
    c.closing = true;
    assert_int_equal(attach(f, &c, err, sizeof(err)), -EPIPE);
    assert_false(session_attach_full(&c));
    c.closing = false;
    conn_shut(f, &c);
}

static void test_session_take_of_unknown_handle_is_ebadf(void **state)
{
    struct fixture *f = *state;
    struct registry_attach att;
    struct conn c;
    char err[256] = "";

    conn_open(f, &c, 1000);
    assert_int_equal(attach(f, &c, err, sizeof(err)), 0);
    assert_int_equal(session_attach_take(&c, 999999, &att), -EBADF);
    assert_int_equal(c.uid->atts, 1);
    conn_shut(f, &c);
}

struct answer {
    int calls, err;
};

static void on_answer(void *arg, const char *name, void *found, int err)
{
    struct answer *a = arg;

    (void)name;
    (void)found;
    a->calls++;
    a->err = err;
}

/* Closing answers the connection's waiting opens -ECANCELED at once, and its uid's
 * count of waits goes down with them. */
static void test_session_close_cancels_waiting_opens(void **state)
{
    struct fixture *f = *state;
    struct answer ans[2] = { { 0 } };
    struct conn c, other;

    conn_open(f, &c, 1000);
    conn_open(f, &other, 1000);
    assert_int_equal(registry_wait(&f->d.registry, "later", -1, &session_of(&c)->waits,
                                   on_answer, &ans[0]), 0);
    assert_int_equal(registry_wait(&f->d.registry, "later", -1, &session_of(&other)->waits,
                                   on_answer, &ans[1]), 0);
    assert_int_equal(c.uid->waits, 2);
    conn_shut(f, &c);
    assert_int_equal(ans[0].calls, 1);
    assert_int_equal(ans[0].err, -ECANCELED);
    assert_int_equal(ans[1].calls, 0);
    assert_int_equal(other.uid->waits, 1);
    conn_shut(f, &other);
    assert_int_equal(ans[1].err, -ECANCELED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_session_attachment_limit_counts_every_connection_of_the_uid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_root_is_spared_the_attachment_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_closed_connection_takes_no_attachment,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_take_of_unknown_handle_is_ebadf, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_close_cancels_waiting_opens, setup,
                                        teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
