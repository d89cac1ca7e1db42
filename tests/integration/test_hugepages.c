/* test_hugepages.c — large volatile arrays in huge pages: the hugetlb pool when it has
 * room (and small pages, said once in the log, when it runs out), shmem transparent
 * huge pages under each shmem_enabled that allows them, mapped by PMD in the client,
 * counted in whole huge pages against --max-volatile-bytes, kept across a restart
 * through the fd store (tests/faults' stand-in), and --huge-pages=never.
 *
 * The tests set vm.nr_hugepages and shmem_enabled for their own run, as root, and put
 * back what they found after each test, at exit and on a fatal signal (CTest runs them
 * under the RESOURCE_LOCK "hugepages" with the other tests that count volatile memory).
 * Where the kernel refuses a setting they skip, saying why.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault.h"
#include "launch.h"
#include "proto_limits.h"
#include "testskip.h"

#define MIB (1024ull * 1024)
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define PMD_SIZE "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"
#define ARRAY_ELEMS (1024ull * 1024) /* of <f8: 8 MiB of data, 4 huge pages and a header */

static struct harness *g_h;
static char g_nr[32], g_shmem[32]; /* what the host had, to put back; "" when unread */

/* The first line of path into out (newline dropped); false when unreadable. */
static bool read_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    bool ok = f && fgets(out, (int)len, f);

    if (f)
        fclose(f);
    if (ok)
        out[strcspn(out, "\n")] = '\0';
    return ok;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    int r;

    if (!f)
        return -errno;
    r = fputs(text, f) < 0 ? -EIO : 0;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}

/* Put the host's settings back as they were (also from a signal handler's path: only
 * open/write/close underneath). */
static void restore_knobs(void)
{
    if (g_shmem[0])
        write_text(SHMEM_ENABLED, g_shmem);
    if (g_nr[0])
        write_text(NR_HUGEPAGES, g_nr);
}

static void restore_on_signal(int sig)
{
    restore_knobs();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Remember the host's settings once, and arrange for them to come back. */
static void save_knobs(void)
{
    char line[128];
    const char *open, *close;

    if (g_nr[0] || g_shmem[0])
        return;
    if (read_line(NR_HUGEPAGES, g_nr, sizeof g_nr) && read_line(SHMEM_ENABLED, line, sizeof line)
        && (open = strchr(line, '[')) && (close = strchr(open, ']'))
        && (size_t)(close - open) < sizeof g_shmem)
        snprintf(g_shmem, sizeof g_shmem, "%.*s", (int)(close - open - 1), open + 1);
    atexit(restore_knobs);
    signal(SIGTERM, restore_on_signal);
    signal(SIGINT, restore_on_signal);
    signal(SIGABRT, restore_on_signal);
}

/* The number /proc/meminfo gives for key (kB for sizes), 0 when absent. */
static uint64_t meminfo(const char *key)
{
    char line[256];
    unsigned long long v = 0;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/meminfo", "re");

    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':' && sscanf(line + n + 1, "%llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* Set the hugetlb pool to pages pages, or skip when this host cannot. */
static void set_pool(uint64_t pages)
{
    char text[32];

    if (geteuid() != 0)
        testskip("setting vm.nr_hugepages needs root");
    if (!g_nr[0] || meminfo("Hugepagesize") == 0)
        testskip("this kernel has no hugetlb pool (no vm.nr_hugepages or Hugepagesize)");
    snprintf(text, sizeof text, "%llu", (unsigned long long)pages);
    if (write_text(NR_HUGEPAGES, text) < 0 || meminfo("HugePages_Total") < pages)
        testskip("the kernel would not reserve %llu huge pages (it has %llu)",
                 (unsigned long long)pages, (unsigned long long)meminfo("HugePages_Total"));
}

/* Set shmem_enabled, or skip when this host cannot. */
static void set_shmem(const char *mode)
{
    char line[128], want[40];

    if (geteuid() != 0)
        testskip("setting shmem_enabled needs root");
    if (!g_shmem[0])
        testskip("this kernel has no shmem transparent huge pages (%s)", SHMEM_ENABLED);
    snprintf(want, sizeof want, "[%s]", mode);
    if (write_text(SHMEM_ENABLED, mode) < 0 || !read_line(SHMEM_ENABLED, line, sizeof line)
        || !strstr(line, want))
        testskip("the kernel would not set shmem_enabled to %s", mode);
}

static uint64_t huge_size(void)
{
    return meminfo("Hugepagesize") * 1024;
}

static uint64_t pmd_size(void)
{
    char line[32];

    return read_line(PMD_SIZE, line, sizeof line) ? strtoull(line, NULL, 10) : 0;
}

static uint64_t round_up(uint64_t n, uint64_t page)
{
    return (n + page - 1) / page * page;
}

/* Bytes of name's memory when it is in pages of page bytes. */
static uint64_t array_memory(uint64_t page)
{
    return round_up(PROTO_DATA_OFFSET + ARRAY_ELEMS * 8, page);
}

static void create_big(sharr_t *c, const char *name, sharr_array_t **ret)
{
    const uint64_t shape[1] = { ARRAY_ELEMS };

    assert_rc(sharr_create(c, name, "<f8", 1, shape, NULL, ret), 0);
}

static int setup(void **state)
{
    save_knobs();
    int r = harness_setup(state);
    g_h = *state;
    return r;
}

static int teardown(void **state)
{
    int r = harness_teardown(state);
    restore_knobs();
    return r;
}

/* Lines of the daemon's log that contain text. */
static int log_count(const char *text)
{
    char line[1024];
    int n = 0;
    FILE *f = fopen(g_h->log, "re");

    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

/* The PMD size, with no pool of huge pages reserved: only transparent huge pages. A
 * kernel without them skips the test (reported to CTest). */
static uint64_t thp_only(void)
{
    uint64_t pmd = pmd_size();
    if (pmd == 0)
        testskip("this kernel has no transparent huge pages (%s)", PMD_SIZE);
    set_pool(0);
    return pmd;
}

/* Bytes of the mapping at addr mapped by PMD (ShmemPmdMapped or FilePmdMapped in
 * /proc/self/smaps). */
static uint64_t pmd_mapped(const void *addr)
{
    char line[512];
    unsigned long long lo, hi, kib, sum = 0;
    bool in = false;
    FILE *f = fopen("/proc/self/smaps", "re");

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        else if (in && (sscanf(line, "ShmemPmdMapped: %llu kB", &kib) == 1
                        || sscanf(line, "FilePmdMapped: %llu kB", &kib) == 1))
            sum += kib * 1024;
    }
    fclose(f);
    return sum;
}

/* Write i into every element, through the creator's mapping. */
static void fill(sharr_array_t *a)
{
    double *d = sharr_array_data(a);

    for (uint64_t i = 0; i < ARRAY_ELEMS; i++)
        d[i] = (double)i;
}

static void check_filled(sharr_t *c, const char *name)
{
    sharr_array_t *a = NULL;

    assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
    const double *d = sharr_array_data(a);
    for (uint64_t i = 0; i < ARRAY_ELEMS; i += 4099)
        assert_true(d[i] == (double)i);
    assert_true(d[ARRAY_ELEMS - 1] == (double)(ARRAY_ELEMS - 1));
    assert_rc(sharr_close(a), 0);
}

/* The pool backs a large array, the client maps and unmaps it in whole huge pages
 * (the pages come back to the pool once it is gone), and info and stats say so. */
static void test_hugetlb_pool_backs_large_array_and_gets_its_pages_back(void **state)
{
    struct harness *h = *state;
    uint64_t hp = huge_size(), pages = array_memory(hp) / hp, free0;
    sharr_array_t *a = NULL;
    struct sharr_info in;

    set_pool(pages + 2);
    set_shmem("never");
    free0 = meminfo("HugePages_Free");
    sharr_t *c = harness_connect(h);
    create_big(c, "pooled", &a);
    assert_int_equal(sharr_array_info(a)->page_size, hp);
    assert_int_equal(free0 - meminfo("HugePages_Free"), pages);
    fill(a);
    check_filled(c, "pooled");
    assert_rc(sharr_stat(c, "pooled", &in), 0);
    assert_int_equal(in.page_size, hp);
    struct sharr_stats s = harness_stats(c);
    assert_int_equal(s.volatile_reserved, array_memory(hp));
    assert_int_equal(s.volatile_huge, array_memory(hp));
    assert_int_equal(s.huge_page_size, hp);
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_unlink(c, "pooled"), 0);
    harness_wait_attachments(c, 0);
    /* Unmapped whole (a length short of a huge page fails munmap and keeps them). */
    for (int i = 0; i < 2000 && meminfo("HugePages_Free") != free0; i++)
        usleep(10000);
    assert_int_equal(meminfo("HugePages_Free"), free0);
    assert_int_equal(harness_stats(c).volatile_reserved, 0);
    sharr_disconnect(c);
}

/* A pool with room for one array: the next ones get small pages, one log line says
 * the pool ran out, and the pool serves again once it has room. */
static void test_hugetlb_pool_running_out_falls_back_with_one_log_line(void **state)
{
    struct harness *h = *state;
    const char *line = "the hugetlb pool has run out";
    uint64_t hp = huge_size(), small = (uint64_t)sysconf(_SC_PAGESIZE);
    sharr_array_t *a = NULL, *b = NULL, *c3 = NULL, *d = NULL;

    set_pool(array_memory(hp) / hp + 1);
    set_shmem("never");
    sharr_t *c = harness_connect(h);
    create_big(c, "first", &a);
    assert_int_equal(sharr_array_info(a)->page_size, hp);
    create_big(c, "second", &b);
    assert_int_equal(sharr_array_info(b)->page_size, small);
    create_big(c, "third", &c3);
    assert_int_equal(sharr_array_info(c3)->page_size, small);
    assert_int_equal(log_count(line), 1);
    fill(b);
    check_filled(c, "second");
    assert_int_equal(harness_stats(c).volatile_reserved,
                     array_memory(hp) + 2 * array_memory(small));
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_unlink(c, "first"), 0);
    harness_wait_attachments(c, 2);
    for (int i = 0; i < 2000 && meminfo("HugePages_Free") < array_memory(hp) / hp; i++)
        usleep(10000);
    create_big(c, "fourth", &d);
    assert_int_equal(sharr_array_info(d)->page_size, hp);
    assert_rc(sharr_close(d), 0);
    create_big(c, "fifth", &d);
    assert_int_equal(sharr_array_info(d)->page_size, small);
    assert_int_equal(log_count(line), 2);
    assert_rc(sharr_close(d), 0);
    assert_rc(sharr_close(b), 0);
    assert_rc(sharr_close(c3), 0);
    sharr_disconnect(c);
}

/* Under each shmem_enabled that allows THP, a large array is in huge pages that the
 * client maps by PMD once it touches them (advise: the daemon allocates them through a
 * mapping with MADV_HUGEPAGE, as posix_fallocate would give small ones). */
static void test_thp_backs_large_array_under_each_shmem_mode(void **state)
{
    struct harness *h = *state;
    static const char *const modes[] = { "within_size", "advise", "always" };
    uint64_t pmd = thp_only();
    sharr_t *c = harness_connect(h);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        sharr_array_t *a = NULL;
        set_shmem(modes[i]);
        create_big(c, modes[i], &a);
        assert_int_equal(sharr_array_info(a)->page_size, pmd);
        fill(a);
        uint64_t mapped = pmd_mapped(sharr_array_data(a));
        if (mapped < ARRAY_ELEMS * 8 - pmd)
            fail_msg("shmem_enabled=%s: %llu bytes of the array mapped by PMD, want at least "
                     "%llu", modes[i], (unsigned long long)mapped,
                     (unsigned long long)(ARRAY_ELEMS * 8 - pmd));
        check_filled(c, modes[i]);
        assert_int_equal(harness_stats(c).volatile_huge, (i + 1) * array_memory(pmd));
        assert_rc(sharr_close(a), 0);
    }
    sharr_disconnect(c);
}

/* --max-volatile-bytes counts huge pages whole: 25 MiB holds two 10 MiB arrays, not
 * the three their 8 MiB and a header would make in small pages. */
static void test_volatile_cap_counts_whole_huge_pages(void **state)
{
    struct harness *h = *state;
    static const char *const flags[] = { "--max-volatile-bytes", "25M", NULL };
    sharr_array_t *a[3] = { NULL };
    uint64_t pmd = thp_only();
    set_shmem("within_size");
    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    create_big(c, "one", &a[0]);
    create_big(c, "two", &a[1]);
    const uint64_t shape[1] = { ARRAY_ELEMS };
    assert_rc(sharr_create(c, "three", "<f8", 1, shape, NULL, &a[2]), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-volatile-bytes"));
    assert_int_equal(harness_stats(c).volatile_reserved, 2 * array_memory(pmd));
    assert_rc(sharr_close(a[0]), 0);
    assert_rc(sharr_close(a[1]), 0);
    sharr_disconnect(c);
}

/* huge-pages = never (from the configuration file) keeps large arrays in small pages
 * with a pool and THP on offer; a mode sharrd does not know is refused. */
static void test_huge_pages_never_keeps_small_pages(void **state)
{
    struct harness *h = *state;
    char conf[256], flag[300];
    uint64_t small = (uint64_t)sysconf(_SC_PAGESIZE), free0;
    sharr_array_t *a = NULL;
    struct harness_run r;

    set_pool(array_memory(huge_size()) / huge_size() + 1);
    set_shmem("within_size");
    snprintf(conf, sizeof conf, "%s/sharrd.conf", h->dir);
    assert_int_equal(write_text(conf, "# small pages only\nhuge-pages = never\n"), 0);
    snprintf(flag, sizeof flag, "--config=%s", conf);
    const char *const extra[] = { flag, NULL };
    launch_daemon(h, extra, 0);
    free0 = meminfo("HugePages_Free");
    sharr_t *c = harness_connect(h);
    create_big(c, "small", &a);
    assert_int_equal(sharr_array_info(a)->page_size, small);
    assert_int_equal(meminfo("HugePages_Free"), free0);
    assert_int_equal(harness_stats(c).volatile_reserved, array_memory(small));
    assert_int_equal(harness_stats(c).volatile_huge, 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);

    const char *const bad[] = { "--huge-pages=sometimes", NULL };
    launch_run(h, bad, &r);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "--huge-pages must be auto, hugetlb, thp or never"));
    harness_run_free(&r);
}

/* Arrays in hugetlb and THP pages come back from the fd store after the daemon is
 * killed, with their page size, their data and their count in huge pages. */
static void test_huge_page_arrays_come_back_from_the_fd_store(void **state)
{
    struct harness *h = *state;
    struct fault_fdstore fs;
    uint64_t hp = huge_size(), pmd = pmd_size();
    sharr_array_t *a = NULL, *b = NULL;
    struct sharr_info in;

    if (pmd == 0 || pmd != hp)
        testskip("THP (%llu) and hugetlb (%llu) pages differ or are missing here",
                 (unsigned long long)pmd, (unsigned long long)hp);
    set_pool(array_memory(hp) / hp);
    set_shmem("within_size");
    harness_daemon_stop(h);
    fault_fdstore_init(&fs, h);
    fault_daemon_start(h, NULL, &fs);
    sharr_t *c = harness_connect(h);
    create_big(c, "pooled", &a);
    create_big(c, "thp", &b); /* the pool is full: THP */
    assert_int_equal(sharr_array_info(a)->page_size, hp);
    assert_int_equal(sharr_array_info(b)->page_size, pmd);
    fill(a);
    fill(b);
    assert_int_equal(fault_fdstore_drain(&fs), 4);

    fault_daemon_kill(h);
    fault_daemon_start(h, NULL, &fs);
    assert_int_equal(harness_stats(c).arrays_volatile, 2);
    assert_rc(sharr_stat(c, "pooled", &in), 0);
    assert_int_equal(in.page_size, hp);
    assert_rc(sharr_stat(c, "thp", &in), 0);
    assert_int_equal(in.page_size, pmd);
    check_filled(c, "pooled");
    check_filled(c, "thp");
    assert_int_equal(harness_stats(c).volatile_huge, 2 * array_memory(hp));
    sharr_close(a); /* attachments of the dead daemon: released locally only */
    sharr_close(b);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    fault_fdstore_close(&fs);
    fault_daemon_start(h, NULL, NULL);
}

/* Grow and publish of an array in huge pages, for the pool and for shmem THP under
 * advise (the daemon allocates through a mapping): the room is a hole in whole huge
 * pages (the pool gives the data's pages only), a grow takes the new whole pages and
 * counts them, the client's refresh maps the new rows, and publish seals the memfd
 * against writing, hugetlb's too: a new writable shared mapping fails with EPERM. */
static void grow_and_publish(sharr_t *c, const char *name, uint64_t page, bool pool)
{
    const uint64_t shape[1] = { ARRAY_ELEMS }, len2 = 2 * ARRAY_ELEMS;
    const uint64_t memory2 = round_up(PROTO_DATA_OFFSET + len2 * 8, page);
    struct sharr_create_opts o = SHARR_CREATE_OPTS_INIT;
    uint64_t free0 = meminfo("HugePages_Free");
    sharr_array_t *a = NULL, *r = NULL;
    struct sharr_info in;
    struct sharr_stats s0 = harness_stats(c), s;

    o.max_len = len2;
    assert_rc(sharr_create(c, name, "<f8", 1, shape, &o, &a), 0);
    assert_int_equal(sharr_array_info(a)->page_size, page);
    assert_int_equal(sharr_array_info(a)->max_len, len2);
    if (pool)
        assert_int_equal(free0 - meminfo("HugePages_Free"), array_memory(page) / page);
    fill(a);
    assert_rc(sharr_grow(c, name, len2, &in), 0);
    assert_int_equal(in.shape[0], len2);
    assert_int_equal(in.page_size, page);
    if (pool)
        assert_int_equal(free0 - meminfo("HugePages_Free"), memory2 / page);
    s = harness_stats(c);
    assert_int_equal(s.volatile_reserved - s0.volatile_reserved, memory2);
    assert_int_equal(s.volatile_huge - s0.volatile_huge, memory2);
    assert_int_equal(sharr_array_refresh(a), 1);
    double *d = sharr_array_data(a);
    for (uint64_t i = 0; i < ARRAY_ELEMS; i += 4099)
        assert_true(d[i] == (double)i);
    for (uint64_t i = ARRAY_ELEMS; i < len2; i++)
        d[i] = (double)i;
    if (!pool) {
        uint64_t mapped = pmd_mapped(d);
        if (mapped < len2 * 8 - page)
            fail_msg("%s: %llu bytes of the grown array mapped by PMD, want at least %llu",
                     name, (unsigned long long)mapped, (unsigned long long)(len2 * 8 - page));
    }
    assert_rc(sharr_publish(c, name, &in), 0);
    assert_int_equal(in.published, 1);
    assert_ptr_equal(mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
                          sharr_array_fd(a), 0), MAP_FAILED);
    assert_int_equal(errno, EPERM);
    assert_rc(sharr_open(c, name, "r+", NULL, &r), -EROFS);
    assert_rc(sharr_open(c, name, "r", NULL, &r), 0);
    const double *rd = sharr_array_data(r);
    for (uint64_t i = 0; i < len2; i += 4099)
        assert_true(rd[i] == (double)i);
    assert_true(rd[len2 - 1] == (double)(len2 - 1));
    assert_rc(sharr_close(r), 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_unlink(c, name), 0);
}

static void test_huge_page_array_grows_and_publishes_in_the_pool(void **state)
{
    struct harness *h = *state;
    uint64_t hp = huge_size();

    set_pool(round_up(PROTO_DATA_OFFSET + 2 * ARRAY_ELEMS * 8, hp) / hp + 1);
    set_shmem("never");
    sharr_t *c = harness_connect(h);
    grow_and_publish(c, "pooled", hp, true);
    sharr_disconnect(c);
}

static void test_huge_page_array_grows_and_publishes_in_thp(void **state)
{
    struct harness *h = *state;
    static const char *const modes[] = { "advise", "within_size" };
    uint64_t pmd = thp_only();
    sharr_t *c = harness_connect(h);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        set_shmem(modes[i]);
        grow_and_publish(c, modes[i], pmd, false);
    }
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_hugetlb_pool_backs_large_array_and_gets_its_pages_back, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_hugetlb_pool_running_out_falls_back_with_one_log_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thp_backs_large_array_under_each_shmem_mode,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile_cap_counts_whole_huge_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_huge_pages_never_keeps_small_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_huge_page_arrays_come_back_from_the_fd_store,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_huge_page_array_grows_and_publishes_in_the_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_page_array_grows_and_publishes_in_thp,
                                        setup, teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
