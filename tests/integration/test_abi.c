/* test_abi.c — the public structs can grow without breaking programs built before.
 * Option structs carry their size: a struct from an older sharr.h (shorter, ending
 * right before unmapped memory) is read only as far as its size says, with the
 * defaults for the rest; a struct from a newer sharr.h is accepted while what this
 * libsharr does not know is zero; a struct without its size is refused, and NULL still
 * means every default. Structs the library fills keep their size and get zeros in
 * their reserved space, whatever the caller's memory held.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "testskip.h"

/* Room for len bytes that end exactly where an unmapped page begins: reading one byte
 * past them faults. Free with guard_free. */
static void *guard_alloc(size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(p != MAP_FAILED);
    assert_int_equal(mprotect(p + page, (size_t)page, PROT_NONE), 0);
    memset(p, 0, (size_t)page);
    return p + page - len;
}

static void guard_free(void *p)
{
    long page = sysconf(_SC_PAGESIZE);

    munmap((void *)((uintptr_t)p & ~(uintptr_t)(page - 1)), 2 * (size_t)page);
}

/* A create_opts as a sharr.h without flags would lay it out: perm and persist set,
 * flags beyond its size (so mapped, the default). */
static void test_create_opts_of_an_older_header_are_read_only_as_far_as_their_size(
    void **state)
{
    struct harness *h = *state;
    const size_t old = offsetof(struct sharr_create_opts, flags);
    const uint64_t shape[1] = { 32 };
    struct sharr_create_opts full = { .size = old, .perm = 0640, .persist = 1 };
    struct sharr_create_opts *o = guard_alloc(old);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;

    memcpy(o, &full, old);
    assert_rc(sharr_create(c, "older", "<i4", 1, shape, o, &a), 0);
    assert_int_equal(sharr_array_info(a)->perm, 0640);
    assert_int_equal(sharr_array_info(a)->persist, 1);
    assert_non_null(sharr_array_data(a));
    ((int32_t *)sharr_array_data(a))[31] = 7;
    assert_rc(sharr_close(a), 0);
    guard_free(o);
    sharr_disconnect(c);
}

/* An open_opts as a sharr.h without owner would lay it out: its flags cannot ask for
 * SHARR_F_OWNER, whose uid it does not hold. */
static void test_open_opts_of_an_older_header_are_read_only_as_far_as_their_size(
    void **state)
{
    struct harness *h = *state;
    const size_t old = offsetof(struct sharr_open_opts, owner);
    const uint64_t shape[1] = { 8 };
    struct sharr_open_opts full = { .size = old, .flags = SHARR_F_NOMAP };
    struct sharr_open_opts *o = guard_alloc(old);
    sharr_t *c = harness_connect(h);
    sharr_array_t *w = NULL, *r = NULL;

    assert_rc(sharr_create(c, "older", "<u1", 1, shape, NULL, &w), 0);
    memcpy(o, &full, old);
    assert_rc(sharr_open(c, "older", "r", o, &r), 0);
    assert_null(sharr_array_data(r));
    assert_rc(sharr_close(r), 0);
    r = NULL;
    full.flags = SHARR_F_OWNER;
    memcpy(o, &full, old);
    assert_rc(sharr_open(c, "older", "r", o, &r), -EINVAL);
    assert_non_null(strstr(sharr_last_error(), "owner"));
    assert_null(r);
    assert_rc(sharr_close(w), 0);
    guard_free(o);
    sharr_disconnect(c);
}

/* A newer header's struct: longer than this library's, with zeros past what it knows
 * it works; with anything set there it is refused (E2BIG), creating nothing. */
static void test_opts_of_a_newer_header_work_unless_an_unknown_field_is_set(void **state)
{
    struct harness *h = *state;
    const size_t newer = sizeof(struct sharr_create_opts) + 16;
    const uint64_t shape[1] = { 8 };
    unsigned char *raw = guard_alloc(newer);
    struct sharr_create_opts known = { .size = newer, .perm = 0600 };
    struct sharr_open_opts oo_known = { .size = sizeof(struct sharr_open_opts) + 8 };
    unsigned char oo_raw[sizeof(struct sharr_open_opts) + 8] = { 0 };
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_info info;

    memcpy(raw, &known, sizeof(known));
    assert_rc(sharr_create(c, "newer", "<u1", 1, shape, (void *)raw, &a), 0);
    assert_rc(sharr_close(a), 0);
    memcpy(oo_raw, &oo_known, sizeof(oo_known));
    assert_rc(sharr_open(c, "newer", "r", (void *)oo_raw, &a), 0);
    assert_rc(sharr_close(a), 0);
    a = NULL;
    oo_raw[sizeof(oo_raw) - 1] = 1;
    assert_rc(sharr_open(c, "newer", "r", (void *)oo_raw, &a), -E2BIG);
    raw[newer - 1] = 1;
    assert_rc(sharr_create(c, "newest", "<u1", 1, shape, (void *)raw, &a), -E2BIG);
    assert_non_null(strstr(sharr_last_error(), "newer sharr.h"));
    assert_null(a);
    assert_rc(sharr_stat(c, "newest", &info), -ENOENT);
    guard_free(raw);
    sharr_disconnect(c);
}

/* size 0 is a struct nobody sized (a memset, or fields set without the initialiser):
 * refused rather than guessed at. NULL is every default. */
static void test_opts_without_their_size_are_einval_and_null_is_the_defaults(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 8 };
    const struct sharr_create_opts unsized = { .persist = 1 };
    const struct sharr_open_opts unsized_open = { .wait_ms = 10 };
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_info info;
    int fd = -1;

    assert_rc(sharr_create(c, "unsized", "<u1", 1, shape, &unsized, &a), -EINVAL);
    assert_non_null(strstr(sharr_last_error(), "sizeof(struct sharr_create_opts)"));
    assert_rc(sharr_stat(c, "unsized", &info), -ENOENT);
    assert_rc(sharr_adopt(c, "unsized", 0, &unsized, NULL), -EINVAL);
    assert_rc(sharr_create(c, "defaults", "<u1", 1, shape, NULL, &a), 0);
    assert_int_equal(sharr_array_info(a)->perm, 0600);
    assert_int_equal(sharr_array_info(a)->persist, 0);
    assert_int_equal(sharr_array_info(a)->order, 'C');
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_open(c, "defaults", "r", &unsized_open, &a), -EINVAL);
    assert_non_null(strstr(sharr_last_error(), "sizeof(struct sharr_open_opts)"));
    assert_rc(sharr_open(c, "defaults", "r", NULL, &a), 0);
    fd = sharr_array_fd(a);
    assert_true(fd >= 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0)
            return false;
    }
    return true;
}

static void test_filled_structs_keep_their_size_and_zero_their_reserved_space(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 8 };
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_info info, page[2];
    struct sharr_server server;
    struct sharr_stats stats;
    struct sharr_holder holders[2];
    size_t n = 0;
    int more = 0;

    assert_int_equal(sizeof(struct sharr_info), 2048);
    assert_int_equal(sizeof(struct sharr_server), 128);
    assert_int_equal(sizeof(struct sharr_stats), 256);
    assert_int_equal(sizeof(struct sharr_holder), 384);
    assert_rc(sharr_create(c, "filled", "<u1", 1, shape, NULL, &a), 0);
    assert_true(all_zero(sharr_array_info(a)->reserved, sizeof(info.reserved)));
    memset(&info, 0xff, sizeof(info));
    assert_rc(sharr_stat(c, "filled", &info), 0);
    assert_true(all_zero(info.reserved, sizeof(info.reserved)));
    memset(page, 0xff, sizeof(page));
    assert_rc(sharr_list(c, NULL, page, 2, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_true(all_zero(page[0].reserved, sizeof(page[0].reserved)));
    memset(&server, 0xff, sizeof(server));
    assert_rc(sharr_server_info(c, &server), 0);
    assert_true(all_zero(server.reserved, sizeof(server.reserved)));
    memset(&stats, 0xff, sizeof(stats));
    assert_rc(sharr_stats(c, &stats), 0);
    assert_true(all_zero(stats.reserved, sizeof(stats.reserved)));
    memset(holders, 0xff, sizeof(holders));
    assert_rc(sharr_holders(c, "filled", 0, holders, 2, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_true(all_zero(holders[0].reserved, sizeof(holders[0].reserved)));
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_opts_of_an_older_header_are_read_only_as_far_as_their_size),
        T(test_open_opts_of_an_older_header_are_read_only_as_far_as_their_size),
        T(test_opts_of_a_newer_header_work_unless_an_unknown_field_is_set),
        T(test_opts_without_their_size_are_einval_and_null_is_the_defaults),
        T(test_filled_structs_keep_their_size_and_zero_their_reserved_space),
    };
#undef T
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
