/* test_memlimit.c — how sharrd finds the memory it may use (daemon/memlimit.c):
 * MemTotal and the lowest memory limit of its cgroup and the cgroups above it, on
 * cgroup v2, on a v1 memory hierarchy, inside a container's view, and with none.
 *
 * Each case is a small tree of /proc and /sys files in a temporary directory
 * (fakeroot.h).
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

#include "memlimit.h"
#include "fakeroot.h"
#include "testskip.h"

#define GIB (1024ull * 1024 * 1024)

static const char *const mountinfo_v2 =
    "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n";

/* systemd: the service says "max", its slice holds the limit. */
static void test_lowest_v2_limit_of_the_cgroup_and_its_ancestors_wins(void **state)
{
    const char *root = *state;
    struct memlimit ml;
    fakeroot_put(root, "/proc/meminfo", "MemTotal:        4194304 kB\nMemFree: 1 kB\n");
    fakeroot_put(root, "/proc/self/cgroup", "0::/system.slice/sharr.service\n");
    fakeroot_put(root, "/proc/self/mountinfo", mountinfo_v2);
    fakeroot_put(root, "/sys/fs/cgroup/system.slice/sharr.service/memory.max", "max\n");
    fakeroot_put(root, "/sys/fs/cgroup/system.slice/memory.max", "1073741824\n");
    memlimit_read(root, &ml);
    assert_int_equal(ml.total, 4 * GIB);
    assert_int_equal(ml.cgroup, GIB);
    assert_string_equal(ml.cgroup_file, "/sys/fs/cgroup/system.slice/memory.max");
    assert_int_equal(ml.ceiling, GIB);
}

/* A limit above MemTotal leaves MemTotal the ceiling. */
static void test_memtotal_is_the_ceiling_below_a_higher_limit(void **state)
{
    const char *root = *state;
    struct memlimit ml;
    fakeroot_put(root, "/proc/meminfo", "MemTotal:        4194304 kB\n");
    fakeroot_put(root, "/proc/self/cgroup", "0::/user.slice\n");
    fakeroot_put(root, "/proc/self/mountinfo", mountinfo_v2);
    fakeroot_put(root, "/sys/fs/cgroup/user.slice/memory.max", "17179869184\n");
    memlimit_read(root, &ml);
    assert_int_equal(ml.cgroup, 16 * GIB);
    assert_int_equal(ml.ceiling, 4 * GIB);
}

/* A hybrid host: memory is a v1 controller, whose "no limit" is a huge number. */
static void test_v1_memory_hierarchy_is_read_on_a_hybrid_host(void **state)
{
    const char *root = *state;
    struct memlimit ml;
    fakeroot_put(root, "/proc/meminfo", "MemTotal:        4194304 kB\n");
    fakeroot_put(root, "/proc/self/cgroup", "9:name=systemd:/\n4:memory:/jobs/j1\n1:cpu:/\n0::/\n");
    fakeroot_put(root, "/proc/self/mountinfo",
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    fakeroot_put(root, "/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    fakeroot_put(root, "/sys/fs/cgroup/memory/jobs/memory.limit_in_bytes", "9223372036854771712\n");
    fakeroot_put(root, "/sys/fs/cgroup/memory/jobs/j1/memory.limit_in_bytes", "268435456\n");
    memlimit_read(root, &ml);
    assert_int_equal(ml.cgroup, 256ull << 20);
    assert_string_equal(ml.cgroup_file, "/sys/fs/cgroup/memory/jobs/j1/memory.limit_in_bytes");
    assert_int_equal(ml.ceiling, 256ull << 20);
}

/* In a container the mount shows only part of the hierarchy (mountinfo's root field):
 * the files are found under the mount point, up to and including it. */
static void test_container_view_of_the_hierarchy_is_followed(void **state)
{
    const char *root = *state;
    struct memlimit ml;
    fakeroot_put(root, "/proc/meminfo", "MemTotal:        4194304 kB\n");
    fakeroot_put(root, "/proc/self/cgroup", "0::/docker/abc/app\n");
    fakeroot_put(root, "/proc/self/mountinfo",
        "40 30 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n");
    fakeroot_put(root, "/sys/fs/cgroup/app/memory.max", "536870912\n");
    fakeroot_put(root, "/sys/fs/cgroup/memory.max", "314572800\n");
    memlimit_read(root, &ml);
    assert_int_equal(ml.cgroup, 300ull << 20);
    assert_string_equal(ml.cgroup_file, "/sys/fs/cgroup/memory.max");
}

/* No cgroup files: MemTotal alone; nothing readable at all: 0, unknown. */
static void test_no_cgroup_means_memtotal_and_nothing_means_unknown(void **state)
{
    const char *root = *state;
    struct memlimit ml;
    fakeroot_put(root, "/proc/meminfo", "MemTotal:        4194304 kB\n");
    memlimit_read(root, &ml);
    assert_int_equal(ml.cgroup, UINT64_MAX);
    assert_string_equal(ml.cgroup_file, "");
    assert_int_equal(ml.ceiling, 4 * GIB);
    memlimit_read("/nonexistent-sharr-root", &ml);
    assert_int_equal(ml.total, 0);
    assert_int_equal(ml.ceiling, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lowest_v2_limit_of_the_cgroup_and_its_ancestors_wins,
                                        fakeroot_setup, fakeroot_teardown),
        cmocka_unit_test_setup_teardown(test_memtotal_is_the_ceiling_below_a_higher_limit,
                                        fakeroot_setup, fakeroot_teardown),
        cmocka_unit_test_setup_teardown(test_v1_memory_hierarchy_is_read_on_a_hybrid_host,
                                        fakeroot_setup, fakeroot_teardown),
        cmocka_unit_test_setup_teardown(test_container_view_of_the_hierarchy_is_followed,
                                        fakeroot_setup, fakeroot_teardown),
        cmocka_unit_test_setup_teardown(test_no_cgroup_means_memtotal_and_nothing_means_unknown,
                                        fakeroot_setup, fakeroot_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
