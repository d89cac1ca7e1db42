/* test_errcode.c — errno values and the symbolic codes that travel on the wire;
 * also the open-mode strings of meta.h, the other small name table of proto.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"
#include "meta.h"
#include "testskip.h"

/* Every code PROTOCOL.md names must survive a round trip. */
static const int errcode_protocol_codes[] = {
    ENOENT, EEXIST, EINVAL, ENAMETOOLONG, EOVERFLOW, EACCES, EPERM, ENOSYS,
    EBADMSG, E2BIG, ETIMEDOUT, ENOSPC, EMFILE, EPROTONOSUPPORT, EIO, ENOMEM,
};

static void test_errcode_protocol_codes_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(errcode_protocol_codes) / sizeof(int); i++) {
        int err = errcode_protocol_codes[i];
        const char *name = errcode_name(-err);
        assert_string_equal(name, errcode_name(err));
        assert_int_equal(errcode_parse(name, strlen(name)), -err);
    }
    assert_string_equal(errcode_name(-ENOENT), "ENOENT");
    assert_string_equal(errcode_name(-EPROTONOSUPPORT), "EPROTONOSUPPORT");
}

static void test_errcode_unknown_values_are_eio(void **state)
{
    (void)state;
    assert_string_equal(errcode_name(0), "EIO");
    assert_string_equal(errcode_name(-100000), "EIO");
    assert_int_equal(errcode_parse("ENOTACODE", 9), -EIO);
    assert_int_equal(errcode_parse("", 0), -EIO);
    assert_int_equal(errcode_parse(NULL, 0), -EIO);
    assert_int_equal(errcode_parse("enoent", 6), -EIO); /* codes are case-sensitive */
}

static void test_errcode_parse_uses_exactly_len_bytes(void **state)
{
    (void)state;
    assert_int_equal(errcode_parse("ENOENTxyz", 6), -ENOENT);
    assert_int_equal(errcode_parse("ENOENT", 5), -EIO);
    assert_int_equal(errcode_parse("EPERM", 5), -EPERM);
}

static void test_meta_modes_round_trip_and_w_plus_is_not_a_mode(void **state)
{
    const char *names[] = { "r", "r+", "c" };
    enum meta_mode m = META_MODE_C;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(meta_mode_parse(names[i], &m), 0);
        assert_string_equal(meta_mode_name(m), names[i]);
    }
    assert_int_equal(meta_mode_parse("w+", &m), -EINVAL);
    assert_int_equal(meta_mode_parse("", &m), -EINVAL);
    assert_int_equal(meta_mode_parse("R", &m), -EINVAL);
    assert_int_equal(meta_mode_parse("r+ ", &m), -EINVAL);
    assert_int_equal(meta_mode_parse(NULL, &m), -EINVAL);
    assert_int_equal(m, META_MODE_C); /* untouched on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errcode_protocol_codes_round_trip),
        cmocka_unit_test(test_errcode_unknown_values_are_eio),
        cmocka_unit_test(test_errcode_parse_uses_exactly_len_bytes),
        cmocka_unit_test(test_meta_modes_round_trip_and_w_plus_is_not_a_mode),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
