/* test_import_export.c — `sharr import` and `sharr export` as a user runs them:
 * .npy files (sharr's own 4096-byte headers and numpy's short ones), raw files
 * with --dtype/--shape/--offset/--order, byte-for-byte round trips, bad input that
 * must leave no array behind, and a 2 GiB import and export whose peak RSS (from
 * wait4) stays under 64 MiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "npy.h"
#include "testskip.h"

#define RSS_LIMIT_KIB (64 * 1024)

/* Run the CLI with the given arguments (NULL-terminated); its exit code, and its
 * peak RSS in KiB through ret_maxrss_kib (may be NULL). stdout and stderr go to
 * h->dir/cli.out. */
static int cli(struct harness *h, long *ret_maxrss_kib, ...)
{
    const char *argv[24] = { harness_cli_path() };
    char out[256];
    va_list ap;
    int n = 1;
    va_start(ap, ret_maxrss_kib);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        argv[n++] = s;
    va_end(ap);
    argv[n] = NULL;
    snprintf(out, sizeof out, "%s/cli.out", h->dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || fd < 0 || dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    pid_t r;
    do {
        r = wait4(pid, &status, 0, &ru);
    } while (r < 0 && errno == EINTR);
    assert_int_equal(r, pid);
    if (ret_maxrss_kib != NULL)
        *ret_maxrss_kib = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *cli_output(struct harness *h)
{
    static char buf[8192];
    char path[256];
    snprintf(path, sizeof path, "%s/cli.out", h->dir);
    return harness_read_text(path, buf, sizeof buf);
}

static void expect_cli(struct harness *h, int want, const char *needle, ...)
{
    const char *argv[24];
    va_list ap;
    int n = 0;
    /* At most 13 arguments: cli() below passes that many on. */
    va_start(ap, needle);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        argv[n++] = s;
    va_end(ap);
    argv[n] = NULL;
    int got = cli(h, NULL, n > 0 ? argv[0] : NULL, n > 1 ? argv[1] : NULL,
                  n > 2 ? argv[2] : NULL, n > 3 ? argv[3] : NULL, n > 4 ? argv[4] : NULL,
                  n > 5 ? argv[5] : NULL, n > 6 ? argv[6] : NULL, n > 7 ? argv[7] : NULL,
                  n > 8 ? argv[8] : NULL, n > 9 ? argv[9] : NULL, n > 10 ? argv[10] : NULL,
                  n > 11 ? argv[11] : NULL, n > 12 ? argv[12] : NULL, NULL);
    if (got != want)
        print_error("sharr %s exited %d, want %d:\n%s", argv[0], got, want, cli_output(h));
    assert_int_equal(got, want);
    if (needle != NULL && strstr(cli_output(h), needle) == NULL) {
        print_error("output lacks \"%s\":\n%s", needle, cli_output(h));
        fail();
    }
}

static void write_all(int fd, const void *p, size_t n, off_t off)
{
    assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
}

static char *path_in(struct harness *h, const char *name)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 256, "%s/%s", h->dir, name);
    return p;
}

/* A .npy file of n doubles i * 0.5 with a header of sharr's own layout. */
static void make_npy(const char *path, int ndim, const uint64_t *shape, char order)
{
    struct meta m;
    uint8_t hdr[NPY_HEADER_LEN];
    memset(&m, 0, sizeof m);
    snprintf(m.dtype.str, sizeof m.dtype.str, "<f8");
    m.dtype.itemsize = 8;
    m.ndim = (uint32_t)ndim;
    m.order = order;
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        m.shape[i] = shape[i];
        n *= shape[i];
    }
    m.nbytes = n * 8;
    assert_int_equal(npy_header_format(&m, hdr), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    write_all(fd, hdr, sizeof hdr, 0);
    double *d = malloc(m.nbytes);
    assert_non_null(d);
    for (uint64_t i = 0; i < n; i++)
        d[i] = (double)i * 0.5;
    write_all(fd, d, m.nbytes, NPY_HEADER_LEN);
    free(d);
    close(fd);
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "re"), *fb = fopen(b, "re");
    int eq = fa != NULL && fb != NULL;
    while (eq) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            eq = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return eq;
}

static void test_import_npy_then_export_round_trips_byte_for_byte(void **state)
{
    struct harness *h = *state;
    uint64_t shape[2] = { 300, 7 };
    const char *in = path_in(h, "in.npy"), *out = path_in(h, "out.npy");
    make_npy(in, 2, shape, 'F');

    expect_cli(h, 0, NULL, "import", in, "grid", NULL);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    assert_rc(sharr_open(c, "grid", "r", NULL, &a), 0);
    const struct sharr_info *info = sharr_array_info(a);
    assert_string_equal(info->dtype, "<f8");
    assert_int_equal(info->ndim, 2);
    assert_int_equal(info->shape[0], 300);
    assert_int_equal(info->shape[1], 7);
    assert_int_equal(info->order, 'F');
    assert_true(((const double *)sharr_array_data(a))[2099] == 2099 * 0.5);
    assert_rc(sharr_close(a), 0);

    expect_cli(h, 0, NULL, "export", "grid", out, NULL);
    assert_true(files_equal(in, out));
    /* An existing file is kept unless --force. */
    expect_cli(h, 1, "EEXIST", "export", "grid", out, NULL);
    expect_cli(h, 0, NULL, "export", "grid", out, "--force", NULL);
    assert_true(files_equal(in, out));

    /* A persistent import is a file in the store, identical too. */
    expect_cli(h, 0, NULL, "import", in, "kept", "--persist", "--perm", "0640", NULL);
    struct sharr_info st;
    assert_rc(sharr_stat(c, "kept", &st), 0);
    assert_int_equal(st.persist, 1);
    assert_int_equal(st.perm, 0640);
    assert_true(files_equal(in, st.path));
    sharr_disconnect(c);
}

/* numpy's own files have short headers (data at 64 or 128): the data offset comes
 * from the header. */
static void test_import_reads_a_short_numpy_header(void **state)
{
    struct harness *h = *state;
    const char *in = path_in(h, "short.npy");
    char hdr[128];
    const char *dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 5), }";
    memset(hdr, ' ', sizeof hdr);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = 128 - 10;
    hdr[9] = 0;
    memcpy(hdr + 10, dict, strlen(dict));
    hdr[127] = '\n';
    int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    write_all(fd, hdr, sizeof hdr, 0);
    int32_t v[15];
    for (int i = 0; i < 15; i++)
        v[i] = i * 3 - 7;
    write_all(fd, v, sizeof v, 128);
    close(fd);

    expect_cli(h, 0, NULL, "import", in, "small", NULL);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    assert_rc(sharr_open(c, "small", "r", NULL, &a), 0);
    assert_int_equal(sharr_array_info(a)->shape[1], 5);
    assert_memory_equal(sharr_array_data(a), v, sizeof v);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static void test_import_raw_data_with_dtype_shape_offset_and_order(void **state)
{
    struct harness *h = *state;
    const char *in = path_in(h, "raw.bin");
    uint16_t v[10 * 20];
    for (int i = 0; i < 200; i++)
        v[i] = (uint16_t)(i * 7 + 1);
    int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    write_all(fd, "a 100-byte header of some instrument, which sharr skips", 56, 0);
    write_all(fd, v, sizeof v, 100);
    close(fd);

    expect_cli(h, 0, NULL, "import", in, "frames", "--dtype", "uint16", "--shape", "10,20",
               "--offset", "100", "--order", "F", NULL);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    assert_rc(sharr_open(c, "frames", "r", NULL, &a), 0);
    const struct sharr_info *info = sharr_array_info(a);
    assert_int_equal(info->order, 'F');
    assert_int_equal(info->itemsize, 2);
    assert_memory_equal(sharr_array_data(a), v, sizeof v);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* Bad files and bad flags fail with a message and leave no array; the daemon serves
 * on and the arrays already there are intact. */
static void test_import_rejects_bad_input_and_leaves_nothing(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    uint64_t n = 16;
    assert_rc(sharr_create(c, "intact", "|u1", 1, &n, NULL, &a), 0);
    memset(sharr_array_data(a), 0x5a, 16);

    const char *junk = path_in(h, "junk.bin");
    int fd = open(junk, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    write_all(fd, "\x93NUMPY\x01\x00\xff\xff{'descr': '<f8'", 25, 0);
    close(fd);
    expect_cli(h, 1, "is not a .npy file", "import", junk, "x", NULL);
    expect_cli(h, 1, "needs 64", "import", junk, "x", "--dtype", "<f8", "--shape", "8", NULL);
    expect_cli(h, 1, "needs 8", "import", junk, "x", "--dtype", "|u1", "--shape", "8",
               "--offset", "100", NULL);
    expect_cli(h, 1, "ENOENT", "import", path_in(h, "missing"), "x", NULL);
    expect_cli(h, 1, "not a regular file", "import", h->dir, "x", NULL);
    expect_cli(h, 1, "EEXIST", "import", junk, "intact", "--dtype", "|u1", "--shape", "25",
               NULL);
    expect_cli(h, 1, "EINVAL", "import", junk, "bad/name", "--dtype", "|u1", "--shape", "25",
               NULL);
    expect_cli(h, 2, "both --dtype and --shape", "import", junk, "x", "--dtype", "<f8", NULL);
    expect_cli(h, 2, "give --dtype", "import", junk, "x", "--offset", "4", NULL);
    expect_cli(h, 2, "not a byte count", "import", junk, "x", "--dtype", "|u1", "--shape", "1",
               "--offset", "-4", NULL);
    expect_cli(h, 2, NULL, "import", junk, NULL);
    expect_cli(h, 1, "ENOENT", "export", "nosuch", path_in(h, "o.npy"), NULL);
    assert_int_equal(access(path_in(h, "o.npy"), F_OK), -1);

    struct sharr_info st;
    assert_rc(sharr_stat(c, "x", &st), -ENOENT);
    struct sharr_stats s = harness_stats(c);
    assert_int_equal(s.arrays, 1);
    sharr_array_t *b = NULL;
    assert_rc(sharr_open(c, "intact", "r", NULL, &b), 0);
    assert_int_equal(((const unsigned char *)sharr_array_data(b))[15], 0x5a);
    assert_rc(sharr_close(b), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* A 2 GiB raw file (sparse, with 96 MiB of real data in three places) is imported
 * and exported by a CLI whose peak RSS stays under 64 MiB: neither side loads or
 * maps the whole array. */
static void test_import_and_export_of_2gib_stay_under_64mib_rss(void **state)
{
    struct harness *h = *state;
    const uint64_t size = 2ull << 30, part = 32ull << 20;
    const uint64_t at[3] = { 0, size / 2 + 12345, size - part };
    const char *in = path_in(h, "big.bin"), *out = path_in(h, "big.npy");
    unsigned char *buf = malloc(part);
    assert_non_null(buf);

    int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    for (int k = 0; k < 3; k++) {
        for (uint64_t i = 0; i < part; i++)
            buf[i] = (unsigned char)(i * 31 + k * 7 + 1);
        write_all(fd, buf, part, (off_t)at[k]);
    }
    close(fd);

    long rss = 0;
    assert_int_equal(cli(h, &rss, "import", in, "big", "--dtype", "|u1", "--shape",
                         "2147483648", NULL), 0);
    print_message("import of 2 GiB: peak RSS %ld KiB\n", rss);
    assert_true(rss > 0 && rss < RSS_LIMIT_KIB);

    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_open_opts oo = { .size = sizeof(oo), .flags = SHARR_F_NOMAP };
    assert_rc(sharr_open(c, "big", "r", &oo, &a), 0);
    assert_int_equal(sharr_array_info(a)->nbytes, size);
    for (int k = 0; k < 3; k++) {
        unsigned char got[4096];
        for (uint64_t off = 0; off + 4096 <= part; off += part / 7) {
            off_t at_k = (off_t)(sharr_array_info(a)->offset + at[k] + off);
            assert_int_equal(pread(sharr_array_fd(a), got, sizeof got, at_k),
                             (ssize_t)sizeof got);
            for (size_t i = 0; i < sizeof got; i++)
                if (got[i] != (unsigned char)((off + i) * 31 + k * 7 + 1))
                    fail_msg("byte %llu of part %d differs",
                             (unsigned long long)(off + i), k);
        }
    }
    unsigned char z[64] = { 1 };
    assert_int_equal(pread(sharr_array_fd(a), z, sizeof z,
                           (off_t)(sharr_array_info(a)->offset + size / 4)),
                     (ssize_t)sizeof z);
    assert_true(z[0] == 0 && memcmp(z, z + 1, sizeof z - 1) == 0);
    assert_rc(sharr_close(a), 0);

    assert_int_equal(cli(h, &rss, "export", "big", out, NULL), 0);
    print_message("export of 2 GiB: peak RSS %ld KiB\n", rss);
    assert_true(rss > 0 && rss < RSS_LIMIT_KIB);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal((uint64_t)st.st_size, PROTO_DATA_OFFSET + size);
    fd = open(out, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, part, (off_t)(PROTO_DATA_OFFSET + at[1])), (ssize_t)part);
    for (uint64_t i = 0; i < part; i += 4093)
        assert_int_equal(buf[i], (unsigned char)(i * 31 + 7 + 1));
    close(fd);
    unlink(out);
    unlink(in);
    assert_rc(sharr_unlink(c, "big"), 0);
    free(buf);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_npy_then_export_round_trips_byte_for_byte,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_import_reads_a_short_numpy_header, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_import_raw_data_with_dtype_shape_offset_and_order,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_import_rejects_bad_input_and_leaves_nothing,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_import_and_export_of_2gib_stay_under_64mib_rss,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
