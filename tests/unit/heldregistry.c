/* heldregistry.c — see heldregistry.h. */
#include "heldregistry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

void heldregistry_open(struct daemon *d)
{
    quota_init(&d->quota);
    registry_init(&d->registry, &d->loop);
    d->registry.quota = &d->quota;
}

void heldregistry_add(struct daemon *d, const char *tag, struct registry_array **ret_a)
{
    struct meta m;
    int fd;

    memset(&m, 0, sizeof(m));
    snprintf(m.name, sizeof(m.name), "held");
    m.ndim = 1;
    m.shape[0] = 8;
    m.nbytes = 8;
    m.offset = 4096;
    m.uid = 1000;
    fd = memfd_create(tag, MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096 + 8), 0);
    assert_int_equal(registry_add(&d->registry, &m, fd, ret_a), 0);
}

void heldregistry_close(struct daemon *d)
{
    waiters_close(&d->registry.waiters);
    registry_close(&d->registry);
    assert_int_equal(uv_run(&d->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&d->loop), 0);
    assert_int_equal(d->quota.arrays, 0); /* every array freed */
    quota_close(&d->quota);
    assert_null(d->peers.head);
}
