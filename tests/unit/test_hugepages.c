/* test_hugepages.c — the page size a new volatile array gets (daemon/hugepages.c):
 * reading what the host offers from a tree of /proc and /sys files, choosing for each
 * --huge-pages mode and shmem_enabled setting, and memstore_create falling back to
 * small pages when the hugetlb pool has none to give.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dtype.h"
#include "fakeroot.h"
#include "hugepages.h"
#include "memstore.h"
#include "npy.h"
#include "testskip.h"

#define MIB (1024ull * 1024)
#define PMD (2 * MIB)

/* A host under root with a 2 MiB hugetlb pool of total pages (free of them free, resv
 * reserved) and shmem_enabled set to shmem. */
static void host(const char *root, const char *shmem, const char *total,
                 const char *free_pages, const char *resv)
{
    char line[128];

    fakeroot_put(root, "/proc/meminfo", "MemTotal: 1000 kB\nHugepagesize:       2048 kB\n");
    fakeroot_put(root, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", total);
    fakeroot_put(root, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", free_pages);
    fakeroot_put(root, "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", resv);
    fakeroot_put(root, "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "2097152\n");
    snprintf(line, sizeof line, "%s\n", shmem);
    fakeroot_put(root, "/sys/kernel/mm/transparent_hugepage/shmem_enabled", line);
}

static void test_host_is_read_from_proc_and_sys(void **state)
{
    struct hugepages_host h;

    const char *root = *state;
    host(root, "always within_size [advise] never deny force", "10\n", "7\n", "2\n");
    hugepages_read(root, true, &h);
    assert_int_equal(h.shmem, HUGEPAGES_SHMEM_ADVISE);
    assert_int_equal(h.pmd, PMD);
    assert_int_equal(h.tlb, PMD);
    assert_int_equal(h.tlb_total, 10);
    assert_int_equal(h.tlb_free, 5); /* reserved pages are promised to others */
    hugepages_read(root, false, &h);
    assert_int_equal(h.tlb, 0);
    /* mTHP kernels: the PMD size's own setting wins unless it inherits. */
    fakeroot_put(root, "/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/shmem_enabled",
        "always [inherit] within_size advise never\n");
    hugepages_read(root, false, &h);
    assert_int_equal(h.shmem, HUGEPAGES_SHMEM_ADVISE);
    fakeroot_put(root, "/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/shmem_enabled",
        "always inherit [within_size] advise never\n");
    hugepages_read(root, false, &h);
    assert_int_equal(h.shmem, HUGEPAGES_SHMEM_WITHIN);
}

static void test_host_without_huge_pages_offers_none(void **state)
{
    struct hugepages_host h;

    const char *root = *state;
    fakeroot_put(root, "/proc/meminfo", "MemTotal: 1000 kB\n");
    hugepages_read(root, true, &h);
    assert_int_equal(h.shmem, HUGEPAGES_SHMEM_NEVER);
    assert_int_equal(h.pmd, 0);
    assert_int_equal(h.tlb, 0);
    assert_int_equal(hugepages_size_now(&h, HUGEPAGES_AUTO), 0);
    struct hugepages_choice c = hugepages_choose(&h, HUGEPAGES_AUTO, 64 * MIB + 4096);
    assert_int_equal(c.kind, HUGEPAGES_SMALL);
    assert_int_equal(c.size, 64 * MIB + 4096);
    assert_false(c.pool_short);
}

static void test_pool_backs_large_arrays_in_auto_and_hugetlb(void **state)
{
    struct hugepages_host h = { .shmem = HUGEPAGES_SHMEM_WITHIN, .pmd = PMD, .tlb = PMD,
                                .tlb_total = 8, .tlb_free = 5 };
    uint64_t size = 8 * MIB + 4096; /* 5 huge pages */

    (void)state;
    for (int m = 0; m < 2; m++) {
        struct hugepages_choice c =
            hugepages_choose(&h, m ? HUGEPAGES_HUGETLB : HUGEPAGES_AUTO, size);
        assert_int_equal(c.kind, HUGEPAGES_POOL);
        assert_int_equal(c.page_size, PMD);
        assert_int_equal(c.size, 10 * MIB);
    }
    /* Too small: rounding up would add a quarter or more. */
    assert_int_equal(hugepages_choose(&h, HUGEPAGES_HUGETLB, 6 * MIB + 4096).kind,
                     HUGEPAGES_SMALL);
    assert_int_equal(hugepages_choose(&h, HUGEPAGES_THP, size).kind, HUGEPAGES_SHMEM);
    assert_int_equal(hugepages_choose(&h, HUGEPAGES_NEVER, size).kind, HUGEPAGES_SMALL);
    assert_int_equal(hugepages_size_now(&h, HUGEPAGES_HUGETLB), PMD);
}

static void test_pool_too_small_is_short_and_thp_takes_over(void **state)
{
    struct hugepages_host h = { .shmem = HUGEPAGES_SHMEM_ADVISE, .pmd = PMD, .tlb = PMD,
                                .tlb_total = 8, .tlb_free = 4 };
    uint64_t size = 8 * MIB + 4096;

    (void)state;
    struct hugepages_choice c = hugepages_choose(&h, HUGEPAGES_AUTO, size);
    assert_int_equal(c.kind, HUGEPAGES_SHMEM_MAPPED);
    assert_int_equal(c.page_size, PMD);
    assert_true(c.pool_short);
    c = hugepages_choose(&h, HUGEPAGES_HUGETLB, size);
    assert_int_equal(c.kind, HUGEPAGES_SMALL);
    assert_int_equal(c.size, size);
    assert_true(c.pool_short);
    h.tlb_total = 0; /* no pool at all: nothing ran out */
    assert_false(hugepages_choose(&h, HUGEPAGES_AUTO, size).pool_short);
}

static void test_shmem_always_counts_every_array_in_huge_pages(void **state)
{
    struct hugepages_host h = { .shmem = HUGEPAGES_SHMEM_ALWAYS, .pmd = PMD };

    (void)state;
    /* The kernel gives even a tiny memfd a whole huge page, whatever sharrd asks. */
    for (int m = HUGEPAGES_AUTO; m <= HUGEPAGES_HUGETLB; m++) {
        struct hugepages_choice c = hugepages_choose(&h, (enum hugepages_mode)m, 4096 + 80);
        assert_int_equal(c.kind, HUGEPAGES_SHMEM);
        assert_int_equal(c.page_size, PMD);
        assert_int_equal(c.size, PMD);
    }
    h.shmem = HUGEPAGES_SHMEM_WITHIN; /* below its size: small arrays stay small */
    assert_int_equal(hugepages_choose(&h, HUGEPAGES_AUTO, 4096 + 80).kind, HUGEPAGES_SMALL);
}

static void test_modes_parse_and_name(void **state)
{
    enum hugepages_mode m;

    (void)state;
    static const char *const names[] = { "auto", "never", "thp", "hugetlb" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(hugepages_mode_parse(names[i], &m), 0);
        assert_string_equal(hugepages_mode_name(m), names[i]);
    }
    assert_int_equal(hugepages_mode_parse("always", &m), -EINVAL);
    assert_int_equal(hugepages_mode_parse("", &m), -EINVAL);
}

/* The pool ran dry between the choice and the build: small pages, and 1 says so. */
static void test_memstore_falls_back_to_small_pages_when_pool_is_empty(void **state)
{
    struct hugepages_host now;
    struct meta m;
    char err[256];
    int fd = -1;

    (void)state;
    hugepages_read("", true, &now);
    if (now.tlb == 0)
        testskip("this kernel has no hugetlb pages");
    if (now.tlb_free > 0)
        testskip("the hugetlb pool has free pages (%llu): this case needs it empty",
                 (unsigned long long)now.tlb_free);
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "pooled");
    assert_int_equal(dtype_parse("<f8", &m.dtype), 0);
    m.ndim = 1;
    m.shape[0] = 1024 * 1024;
    m.nbytes = 8 * MIB;
    m.order = 'C';
    m.offset = NPY_HEADER_LEN;
    m.page_size = (uint32_t)now.tlb;
    struct hugepages_choice c = { HUGEPAGES_POOL, now.tlb, 10 * MIB, false };
    assert_int_equal(memstore_create(&m, &c, &fd, err, sizeof err), 1);
    assert_int_equal(m.page_size, sysconf(_SC_PAGESIZE));
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, NPY_HEADER_LEN + 8 * MIB);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_is_read_from_proc_and_sys, fakeroot_setup,
                                        fakeroot_teardown),
        cmocka_unit_test_setup_teardown(test_host_without_huge_pages_offers_none, fakeroot_setup,
                                        fakeroot_teardown),
        cmocka_unit_test(test_pool_backs_large_arrays_in_auto_and_hugetlb),
        cmocka_unit_test(test_pool_too_small_is_short_and_thp_takes_over),
        cmocka_unit_test(test_shmem_always_counts_every_array_in_huge_pages),
        cmocka_unit_test(test_modes_parse_and_name),
        cmocka_unit_test(test_memstore_falls_back_to_small_pages_when_pool_is_empty),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
