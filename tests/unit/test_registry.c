/* test_registry.c — the daemon's named arrays (daemon/registry.c) with its quota,
 * waiters and store files, on a private libuv loop and without a socket: names are
 * reserved, made ready, found in order and removed; a removed array lives while
 * attached and is charged to its owner until its last reference goes; an open waiting
 * for a name gets the array once it is ready; each descriptor is a new description.
 *
 * Only volatile arrays (memfds) are made here: the store's files are the store tests'.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "procfd.h"
#include "quota.h"
#include "registry.h"
#include "store.h"
#include "testskip.h"

struct fixture {
    uv_loop_t loop;
    struct registry reg;
    struct quota quota;
    int removed, last;
    struct registry_array *last_removed;
};

static void on_removed(void *arg, struct registry_array *a)
{
    struct fixture *f = arg;

    f->removed++;
    f->last_removed = a;
}

static bool on_last(void *arg, struct registry_array *a)
{
    struct fixture *f = arg;

    (void)a;
    f->last++;
    return false; /* free it now */
}

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    assert_int_equal(uv_loop_init(&f.loop), 0);
    quota_init(&f.quota);
    registry_init(&f.reg, &f.loop);
    f.reg.quota = &f.quota;
    f.reg.on_removed = on_removed;
    f.reg.on_removed_arg = &f;
    f.reg.on_last = on_last;
    f.reg.on_last_arg = &f;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    waiters_close(&f->reg.waiters);
    registry_close(&f->reg);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* no handle left open */
    /* Every array freed: nothing is charged any more. */
    assert_int_equal(f->quota.arrays, 0);
    assert_int_equal(f->quota.memory, 0);
    quota_close(&f->quota);
    return 0;
}

static struct meta meta_of(const char *name, uint32_t uid)
{
    struct meta m;

    memset(&m, 0, sizeof(m));
    snprintf(m.name, sizeof(m.name), "%s", name);
    m.ndim = 1;
    m.shape[0] = 16;
    m.nbytes = 16;
    m.offset = 4096;
    m.order = 'C';
    m.perm = 0600;
    m.uid = uid;
    return m;
}

/* A memfd standing for a volatile array's data. */
static int data_fd(void)
{
    int fd = memfd_create("test_registry", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096 + 16), 0);
    return fd;
}

static void test_registry_reserved_name_is_taken_until_ready_or_removed(void **state)
{
    struct fixture *f = *state;
    struct meta m = meta_of("alpha", 1000);
    struct registry_array *a, *b;

    assert_int_equal(registry_add(&f->reg, &m, -1, &a), 0);
    assert_false(a->ready);
    assert_ptr_equal(registry_find(&f->reg, "alpha"), a);
    assert_int_equal(registry_add(&f->reg, &m, -1, &b), -EEXIST);
    assert_int_equal(quota_of(&f->quota, 1000).arrays, 1); /* charged from the reservation */
    registry_ready(&f->reg, a, data_fd());
    assert_true(a->ready);
    registry_remove(&f->reg, a); /* its last reference was the name's */
    assert_int_equal(f->removed, 1);
    assert_int_equal(f->last, 1);
    assert_null(registry_find(&f->reg, "alpha"));
    assert_int_equal(quota_of(&f->quota, 1000).arrays, 0);
}

static void test_registry_names_are_kept_in_order(void **state)
{
    struct fixture *f = *state;
    const char *names[] = { "m", "b", "zz", "a", "k" };
    const char *sorted[] = { "a", "b", "k", "m", "zz" };

    for (size_t i = 0; i < 5; i++) {
        struct meta m = meta_of(names[i], 1000);
        assert_int_equal(registry_add(&f->reg, &m, data_fd(), NULL), 0);
    }
    assert_int_equal(f->reg.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(f->reg.arrays[i]->meta.name, sorted[i]);
    assert_int_equal(registry_after(&f->reg, ""), 0);
    assert_int_equal(registry_after(&f->reg, "b"), 2);
    assert_int_equal(registry_after(&f->reg, "c"), 2);
    assert_int_equal(registry_after(&f->reg, "zz"), 5);
}

/* An unlinked array still attached lives, counted as unlinked and attached, and charged
 * to its owner; the last detach frees it and gives the charge back. */
static void test_registry_removed_array_lives_while_attached(void **state)
{
    struct fixture *f = *state;
    struct meta m = meta_of("held", 1001);
    struct registry_attach att1, att2;
    struct registry_array *a;

    assert_int_equal(registry_add(&f->reg, &m, data_fd(), &a), 0);
    registry_attach(&f->reg, a, META_MODE_R, &att1);
    registry_attach(&f->reg, a, META_MODE_RPLUS, &att2);
    assert_int_not_equal(att1.handle, att2.handle);
    assert_int_equal(f->reg.nattached, 2);
    assert_int_equal(a->meta.nattached, 2);
    assert_int_equal(a->writers, 1);
    registry_remove(&f->reg, a);
    assert_null(registry_find(&f->reg, "held"));
    assert_int_equal(f->reg.unlinked_attached, 1);
    assert_int_equal(f->last, 0);
    assert_int_equal(quota_of(&f->quota, 1001).arrays, 1);
    registry_detach(&f->reg, &att1);
    assert_int_equal(f->last, 0);
    registry_detach(&f->reg, &att2);
    assert_int_equal(f->last, 1);
    assert_int_equal(f->reg.unlinked_attached, 0);
    assert_int_equal(f->reg.nattached, 0);
    assert_int_equal(quota_of(&f->quota, 1001).arrays, 0);
}

struct woken {
    int calls, err;
    void *found;
};

static void on_woken(void *arg, const char *name, void *found, int err)
{
    struct woken *w = arg;

    (void)name;
    w->calls++;
    w->err = err;
    w->found = found;
}

/* An open waiting for a name is answered with the array once it is ready, not when
 * the name is only reserved. */
static void test_registry_wait_gets_the_array_once_ready(void **state)
{
    struct fixture *f = *state;
    struct meta m = meta_of("later", 1000);
    struct waiters_owner owner = { 0 };
    struct registry_array *a;
    struct woken w = { 0 };

    assert_int_equal(registry_wait(&f->reg, "later", -1, &owner, on_woken, &w), 0);
    assert_int_equal(registry_add(&f->reg, &m, -1, &a), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(w.calls, 0);
    registry_ready(&f->reg, a, data_fd());
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.err, 0);
    assert_ptr_equal(w.found, a);
    assert_int_equal(owner.n, 0);
}

/* Each descriptor of a volatile array is a new description, read-only unless r+. */
static void test_registry_descriptor_is_a_new_description_per_mode(void **state)
{
    struct fixture *f = *state;
    struct meta m = meta_of("fds", 1000);
    struct store none;
    struct registry_array *a;
    char err[128];
    int r1, r2, w, procfd = -1;

    memset(&none, 0, sizeof(none));
    assert_int_equal(procfd_open(&procfd, err, sizeof(err)), 0);
    assert_int_equal(registry_add(&f->reg, &m, data_fd(), &a), 0);
    assert_int_equal(registry_descriptor(&none, procfd, a, META_MODE_R, &r1), 0);
    assert_int_equal(registry_descriptor(&none, procfd, a, META_MODE_R, &r2), 0);
    assert_int_equal(registry_descriptor(&none, procfd, a, META_MODE_RPLUS, &w), 0);
    assert_int_equal(fcntl(r1, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_int_equal(fcntl(w, F_GETFL) & O_ACCMODE, O_RDWR);
    assert_true(fcntl(r1, F_GETFD) & FD_CLOEXEC);
    /* Separate descriptions: a file offset moved on one is not the other's. */
    assert_int_equal(lseek(r1, 100, SEEK_SET), 100);
    assert_int_equal(lseek(r2, 0, SEEK_CUR), 0);
    close(r1);
    close(r2);
    close(w);
    close(procfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_registry_reserved_name_is_taken_until_ready_or_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_names_are_kept_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registry_removed_array_lives_while_attached,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_wait_gets_the_array_once_ready, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registry_descriptor_is_a_new_description_per_mode,
                                        setup, teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
