/* test_api.c — the calls of sharr.h that ask the library about itself rather than the
 * daemon: its version (the one CMake sets, also in the header's macros), the protocol
 * it speaks, the stable names of errors, the default socket (the resolver the CLI and
 * the Python package use too) and the reading of a .npy header.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testskip.h"

static void test_version_is_the_headers_and_protocol_is_the_daemons(void **state)
{
    struct harness *h = *state;
    struct sharr_server srv;
    char want[64];
    sharr_t *c = harness_connect(h);

    snprintf(want, sizeof want, "%d.%d.%d", SHARR_VERSION_MAJOR, SHARR_VERSION_MINOR,
             SHARR_VERSION_PATCH);
    assert_string_equal(sharr_version(), want);
    assert_rc(sharr_server_info(c, &srv), 0);
    assert_int_equal(sharr_protocol_version(), srv.version);
    assert_non_null(strstr(srv.server, want));
    sharr_disconnect(c);
}

static void test_err_name_gives_the_protocols_stable_codes(void **state)
{
    (void)state;
    assert_string_equal(sharr_err_name(-ENOENT), "ENOENT");
    assert_string_equal(sharr_err_name(-EACCES), "EACCES");
    assert_string_equal(sharr_err_name(-EEXIST), "EEXIST");
    assert_string_equal(sharr_err_name(-EPROTONOSUPPORT), "EPROTONOSUPPORT");
    assert_string_equal(sharr_err_name(ENOENT), "ENOENT");
    assert_string_equal(sharr_err_name(0), "OK");
    assert_string_equal(sharr_err_name(-EHOSTDOWN), "EIO"); /* no name on the wire */
}

/* The harness sets $SHARR_SOCKET; without it, a live socket in $XDG_RUNTIME_DIR wins
 * over the fallbacks. A buffer too small is ENAMETOOLONG, never a cut path. */
static void test_default_socket_is_what_connect_null_dials(void **state)
{
    struct harness *h = *state;
    char buf[SHARR_SOCKET_MAX], small[8];
    char *saved_sock = strdup(getenv("SHARR_SOCKET"));
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *saved_xdg = xdg ? strdup(xdg) : NULL;
    sharr_t *c = NULL;

    assert_rc(sharr_default_socket(buf, sizeof buf), 0);
    assert_string_equal(buf, h->sock);
    assert_rc(sharr_connect(NULL, &c), 0);
    sharr_disconnect(c);
    assert_rc(sharr_default_socket(small, sizeof small), -ENAMETOOLONG);
    assert_rc(sharr_default_socket(NULL, 0), -EINVAL);

    /* h->dir holds s.sock: as a runtime directory it has no sharr/sharr.sock, so the
     * answer is where this user's own daemon would listen, or a live system socket. */
    unsetenv("SHARR_SOCKET");
    setenv("XDG_RUNTIME_DIR", h->dir, 1);
    assert_rc(sharr_default_socket(buf, sizeof buf), 0);
    char want[300];
    snprintf(want, sizeof want, "%s/sharr/sharr.sock", h->dir);
    if (access("/run/sharr/sharr.sock", F_OK) != 0)
        assert_string_equal(buf, want);
    setenv("SHARR_SOCKET", saved_sock, 1);
    if (saved_xdg)
        setenv("XDG_RUNTIME_DIR", saved_xdg, 1);
    else
        unsetenv("XDG_RUNTIME_DIR");
    free(saved_sock);
    free(saved_xdg);
}

/* A numpy v1.0 header of (2, 3) <i2 in Fortran order, data at 128. */
static size_t npy_header(unsigned char *buf)
{
    harness_npy_header(buf, "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }");
    return HARNESS_NPY_HEADER;
}

static void test_npy_parse_reads_a_numpy_header_and_refuses_the_rest(void **state)
{
    (void)state;
    unsigned char buf[128];
    struct sharr_info info;
    size_t n = npy_header(buf);

    memset(&info, 0xff, sizeof info);
    assert_rc(sharr_npy_parse(buf, n, &info), 0);
    assert_string_equal(info.dtype, "<i2");
    assert_int_equal(info.itemsize, 2);
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], 2);
    assert_int_equal(info.shape[1], 3);
    assert_int_equal(info.shape[2], 0);
    assert_int_equal(info.order, 'F');
    assert_int_equal(info.nbytes, 12);
    assert_int_equal(info.offset, 128);
    assert_string_equal(info.name, "");
    assert_int_equal(info.uid, 0);
    assert_rc(sharr_npy_parse(buf, 64, &info), -EAGAIN);
    buf[1] = 'X';
    assert_rc(sharr_npy_parse(buf, n, &info), -EINVAL);
    assert_non_null(strstr(sharr_last_error(), "magic"));
    assert_rc(sharr_npy_parse(NULL, 0, &info), -EINVAL);
}

/* A record's header gives the description sharr_create takes (numpy's own text, with
 * its spaces as a hand-written header may not have them), a plain one its typestr. */
static void test_npy_describe_gives_what_create_takes_for_records_and_plain_types(void **state)
{
    struct harness *h = *state;
    static const char dict[] = "{'descr': [('x','<f4'),( 'p', [('a', 'u1')], (2,) )], "
                               "'fortran_order': False, 'shape': (3,), }";
    static const char want[] = "[('x', '<f4'), ('p', [('a', '|u1')], (2,))]";
    unsigned char buf[128];
    char descr[SHARR_DESCR_MAX + 1];
    struct sharr_info info;
    sharr_array_t *a = NULL;

    memset(buf, ' ', sizeof buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = 128 - 10;
    buf[9] = 0;
    memcpy(buf + 10, dict, sizeof dict - 1);
    buf[127] = '\n';
    assert_rc(sharr_npy_describe(buf, sizeof buf, &info, descr, sizeof descr), 0);
    assert_string_equal(descr, want);
    assert_string_equal(info.dtype, "|V6");
    assert_int_equal(info.descr_len, strlen(want));
    assert_int_equal(info.shape[0], 3);
    assert_int_equal(info.offset, 128);
    sharr_t *c = harness_connect(h);
    assert_rc(sharr_create(c, "from-header", descr, (int)info.ndim, info.shape, NULL, &a), 0);
    assert_string_equal(sharr_array_descr(a), want);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    /* Too small a buffer: ERANGE, and descr untouched. */
    memset(descr, 'z', sizeof descr);
    assert_rc(sharr_npy_describe(buf, sizeof buf, &info, descr, strlen(want)), -ERANGE);
    assert_int_equal(descr[0], 'z');
    assert_rc(sharr_npy_describe(buf, sizeof buf, &info, descr, 0), -EINVAL);
    assert_rc(sharr_npy_describe(buf, sizeof buf, &info, NULL, 8), -EINVAL);
    assert_rc(sharr_npy_describe(NULL, 0, &info, descr, sizeof descr), -EINVAL);
    assert_rc(sharr_npy_describe(buf, 64, &info, descr, sizeof descr), -EAGAIN);
    /* A plain dtype: its typestr, as sharr_npy_parse gives it. */
    assert_rc(sharr_npy_describe(buf, npy_header(buf), &info, descr, sizeof descr), 0);
    assert_string_equal(descr, "<i2");
    assert_string_equal(info.dtype, "<i2");
    assert_rc(sharr_npy_describe(buf, sizeof buf, &info, descr, 3), -ERANGE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        T(test_version_is_the_headers_and_protocol_is_the_daemons),
        T(test_err_name_gives_the_protocols_stable_codes),
        T(test_default_socket_is_what_connect_null_dials),
        T(test_npy_parse_reads_a_numpy_header_and_refuses_the_rest),
        T(test_npy_describe_gives_what_create_takes_for_records_and_plain_types),
    };
#undef T
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
