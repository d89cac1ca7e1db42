/* test_list.c — sharr_list pages through the names in bytewise order.
 *
 * A listing pages with the last name it saw as the next `after`, so arrays created
 * and unlinked by another client between its pages must neither repeat a name nor
 * skip one that lived through the whole listing, whatever the page size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "testskip.h"

#define LIST_N 2500u        /* names to page through: several pages of the largest size */

static void list_name(char *buf, size_t len, const char *prefix, unsigned i)
{
    snprintf(buf, len, "%s.%05u", prefix, i);
}

static void list_create(sharr_t *conn, const char *name)
{
    struct sharr_create_opts opts = { .size = sizeof(opts), .flags = SHARR_F_NOMAP };
    uint64_t one = 1;
    sharr_array_t *a;

    assert_int_equal(sharr_create(conn, name, "|u1", 1, &one, &opts, &a), 0);
    assert_int_equal(sharr_close(a), 0);
}

/* What one listing saw: every name in the order pages returned them. */
struct listing {
    char (*names)[SHARR_NAME_MAX + 1];
    size_t n, cap;
};

/* Page through every name with pages of at most cap, calling between(page, arg)
 * after each page but the last; returns the names in the order they came. */
static void list_all(sharr_t *conn, size_t cap, void (*between)(unsigned, void *), void *arg,
                     struct listing *out)
{
    struct sharr_info *page = calloc(cap, sizeof(*page));
    char after[SHARR_NAME_MAX + 1] = "";
    unsigned pages = 0;
    size_t n;
    int more = 1;

    assert_non_null(page);
    out->n = 0;
    while (more) {
        assert_int_equal(sharr_list(conn, after, page, cap, &n, &more), 0);
        assert_true(n <= cap);
        for (size_t i = 0; i < n; i++) {
            assert_true(out->n < out->cap);
            memcpy(out->names[out->n++], page[i].name, sizeof(out->names[0]));
        }
        if (n > 0)
            memcpy(after, page[n - 1].name, sizeof(after));
        if (more && between != NULL)
            between(pages, arg);
        pages++;
    }
    free(page);
}

static int list_has(const struct listing *l, const char *name)
{
    int count = 0;

    for (size_t i = 0; i < l->n; i++)
        count += strcmp(l->names[i], name) == 0;
    return count;
}

static void list_assert_sorted_once(const struct listing *l)
{
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->names[i - 1], l->names[i]) >= 0)
            fail_msg("listing out of order or repeated at %zu: %s then %s", i,
                     l->names[i - 1], l->names[i]);
    }
}

static void test_list_pages_return_every_name_once_in_order(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    /* 4096 is more than the daemon's page: the client asks for its largest. */
    static const size_t caps[] = { 7, 256, 1024, 4096 };
    struct listing l = { .cap = LIST_N + 16 };
    char name[64];

    l.names = calloc(l.cap, sizeof(l.names[0]));
    assert_non_null(l.names);
    /* Created out of order: the daemon keeps them sorted, not the creator. */
    for (unsigned i = 0; i < LIST_N; i++) {
        list_name(name, sizeof(name), "a", (i * 7919u) % LIST_N);
        list_create(conn, name);
    }
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        list_all(conn, caps[c], NULL, NULL, &l);
        assert_int_equal(l.n, LIST_N);
        list_assert_sorted_once(&l);
        for (unsigned i = 0; i < LIST_N; i++) {
            list_name(name, sizeof(name), "a", i);
            assert_string_equal(l.names[i], name);
        }
    }
    free(l.names);
    sharr_disconnect(conn);
}

/* Between pages another client unlinks a name already listed and one not yet
 * reached, and creates a name behind the cursor and one ahead of it. */
struct churn {
    sharr_t *other;
    const struct listing *seen;
    unsigned step;
    unsigned gone_ahead[LIST_N]; /* the b.* names unlinked before the listing got there */
};

static void list_churn(unsigned page, void *arg)
{
    struct churn *ch = arg;
    const char *last = ch->seen->names[ch->seen->n - 1];
    unsigned pos = (unsigned)strtoul(last + 2, NULL, 10);
    char name[64];

    (void)page;
    if (strncmp(last, "b.", 2) != 0)
        return; /* into the c.* names: the churn is over */
    ch->step++;
    /* Behind the cursor: listed already (unlinked) or never to be seen (created). */
    list_name(name, sizeof(name), "b", pos - 1);
    assert_int_equal(sharr_unlink(ch->other, name), 0);
    list_name(name, sizeof(name), "a", ch->step);
    list_create(ch->other, name);
    /* Ahead of the cursor: must be missed (unlinked) or seen once (created). */
    if (pos + 5 < LIST_N) {
        list_name(name, sizeof(name), "b", pos + 5);
        assert_int_equal(sharr_unlink(ch->other, name), 0);
        ch->gone_ahead[ch->step] = pos + 5;
        list_name(name, sizeof(name), "c", ch->step);
        list_create(ch->other, name);
    }
}

static void test_list_paged_while_others_create_and_unlink_sees_survivors_once(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    struct listing l = { .cap = 2 * LIST_N };
    struct churn *ch = calloc(1, sizeof(*ch));
    struct sharr_info info;
    char name[64];
    unsigned ahead = 0;

    l.names = calloc(l.cap, sizeof(l.names[0]));
    assert_non_null(l.names);
    assert_non_null(ch);
    ch->other = harness_connect(h);
    ch->seen = &l;
    for (unsigned i = 0; i < LIST_N; i++) {
        list_name(name, sizeof(name), "b", i);
        list_create(conn, name);
    }
    list_all(conn, 97, list_churn, ch, &l);
    assert_true(ch->step > 20);
    list_assert_sorted_once(&l);
    /* Every b.* still there at the end lived through the listing: seen once. */
    for (unsigned i = 0; i < LIST_N; i++) {
        list_name(name, sizeof(name), "b", i);
        if (sharr_stat(conn, name, &info) == 0)
            assert_int_equal(list_has(&l, name), 1);
    }
    for (unsigned s = 1; s <= ch->step; s++) {
        /* a.* sort before every b.*: created behind the cursor, never listed. */
        list_name(name, sizeof(name), "a", s);
        assert_int_equal(list_has(&l, name), 0);
        if (ch->gone_ahead[s] == 0)
            continue;
        ahead++;
        list_name(name, sizeof(name), "b", ch->gone_ahead[s]);
        assert_int_equal(list_has(&l, name), 0);
        /* c.* sort after every b.*: created ahead of the cursor, each listed once. */
        list_name(name, sizeof(name), "c", s);
        assert_int_equal(list_has(&l, name), 1);
    }
    assert_true(ahead > 20);
    free(l.names);
    sharr_disconnect(ch->other);
    free(ch);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_pages_return_every_name_once_in_order,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_list_paged_while_others_create_and_unlink_sees_survivors_once, harness_setup,
            harness_teardown),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
