/* test_memory.c — volatile arrays cannot take the host's memory: the caps sharrd
 * derives from the machine (MemTotal, its memory cgroup), reservations that hold
 * until the array is freed, and a daemon in a small memory cgroup that refuses
 * creates instead of being OOM-killed with everyone's arrays.
 *
 * The cgroup tests make a memory cgroup as root (cgroup.c) and start sharrd in it;
 * where no memory cgroup can be made they skip, saying why, and CTest reports them
 * skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "cgroup.h"
#include "launch.h"
#include "testskip.h"
#include "proto_limits.h"

#define MIB (1024ull * 1024)

static struct harness *g_h;
static struct cgroup g_cg;

/* What a child filling memory saw, in a shared page. */
struct fill {
    const char *prefix;
    uint64_t each;       /* bytes of each array */
    int most;            /* creates to try at most */
    int made;            /* arrays created */
    int rc;              /* the create that stopped it, 0 if none did */
    char msg[256];       /* its message */
};

/* Create prefix0, prefix1, ... of f->each bytes until a create fails, writing into
 * each array its number + 1. */
static int fill_memory(void *arg)
{
    struct fill *f = arg;
    sharr_t *c = NULL;
    if (sharr_connect(g_h->sock, &c) != 0)
        return 3;
    for (f->made = 0; f->made < f->most; f->made++) {
        char name[32];
        const uint64_t shape[1] = { f->each };
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "%s%d", f->prefix, f->made);
        f->rc = sharr_create(c, name, "|u1", 1, shape, NULL, &a);
        if (f->rc != 0) {
            snprintf(f->msg, sizeof f->msg, "%s", sharr_last_error());
            break;
        }
        memset(sharr_array_data(a), f->made + 1, f->each);
        sharr_close(a);
    }
    sharr_disconnect(c);
    return 0;
}

static struct fill *fill_new(const char *prefix, uint64_t each, int most)
{
    struct fill *f = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    assert_true(f != MAP_FAILED);
    memset(f, 0, sizeof *f);
    f->prefix = prefix;
    f->each = each;
    f->most = most;
    return f;
}

/* Every array prefix0..prefix(n-1) still holds its number + 1 in every byte. */
static void check_filled(sharr_t *c, const char *prefix, int n, uint64_t each)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "%s%d", prefix, i);
        assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
        const unsigned char *p = sharr_array_data(a);
        for (uint64_t j = 0; j < each; j += 4093)
            assert_int_equal(p[j], (unsigned char)(i + 1));
        assert_int_equal(p[each - 1], (unsigned char)(i + 1));
        sharr_close(a);
    }
}

/* Resident set of pid in bytes (VmRSS). */
static uint64_t rss_of(pid_t pid)
{
    char path[64], line[256];
    unsigned long long kib = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return kib * 1024;
}

/* MemTotal in bytes. */
static uint64_t mem_total(void)
{
    char line[256];
    unsigned long long kib = 0;
    FILE *f = fopen("/proc/meminfo", "re");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return kib * 1024;
}

/* The memory a daemon in g_cg may use: MemTotal, or the cgroup's limit when lower. */
static uint64_t cgroup_memory(void)
{
    uint64_t total = mem_total(), limit = cgroup_limit(&g_cg);
    return limit < total ? limit : total;
}

/* What one volatile array of n data bytes holds: header and data in whole pages. */
static uint64_t volatile_cost(uint64_t n)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return (PROTO_DATA_OFFSET + n + page - 1) / page * page;
}

static int teardown_cgroup(void **state)
{
    int r = harness_teardown(state);
    cgroup_remove(&g_cg);
    return r;
}

/* In a 256 MiB memory cgroup, default flags: nobody is refused (EDQUOT) long before
 * it holds half of the cgroup, root (exempt per uid) is refused by the total (ENOSPC)
 * before the cgroup is full, the daemon lives on, every array keeps its data, and the
 * daemon's own memory does not grow with them. */
static void test_small_memory_cgroup_refuses_creates_instead_of_dying(void **state)
{
    struct harness *h = g_h = *state;
    const uint64_t limit = 256 * MIB;
    char why[512];
    if (cgroup_make(&g_cg, limit, why, sizeof why) < 0)
        testskip("no memory cgroup can be made here: %s", why);
    launch_daemon_in(h, NULL, g_cg.procs);
    asuser_open_dir(h);
    uint64_t rss0 = rss_of(h->daemon);
    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    const uint64_t memory = cgroup_memory();
    assert_true(memory <= limit);
    assert_int_equal(st.volatile_limit, memory / 2);
    assert_int_equal(st.volatile_limit_per_uid, memory / 2 / 4);

    struct fill *mine = fill_new("u", 4 * MIB, 64);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, fill_memory, mine), 0);
    printf("nobody made %d arrays of 4 MiB, then: %s\n", mine->made, mine->msg);
    assert_int_equal(mine->rc, -EDQUOT);
    assert_non_null(strstr(mine->msg, "--max-volatile-bytes-per-uid"));
    assert_int_equal(mine->made, st.volatile_limit_per_uid / volatile_cost(mine->each));
    assert_true(mine->made * 4 * MIB < memory / 2);

    struct fill *root = fill_new("r", 8 * MIB, 64);
    g_h = h;
    fill_memory(root);
    printf("root made %d arrays of 8 MiB, then: %s\n", root->made, root->msg);
    assert_int_equal(root->rc, -ENOSPC);
    assert_non_null(strstr(root->msg, "--max-volatile-bytes)"));
    assert_int_equal(root->made, (st.volatile_limit - mine->made * volatile_cost(mine->each)) /
                                     volatile_cost(root->each));

    /* Alive, serving, and nothing lost. */
    assert_int_equal(kill(h->daemon, 0), 0);
    check_filled(c, "u", mine->made, mine->each);
    check_filled(c, "r", root->made, root->each);
    st = harness_stats(c);
    assert_int_equal(st.arrays_volatile, (uint64_t)(mine->made + root->made));
    assert_int_equal(st.volatile_reserved, mine->made * volatile_cost(mine->each) +
                                               root->made * volatile_cost(root->each));
    assert_true(st.volatile_reserved <= st.volatile_limit);
    /* The pages are the cgroup's (the daemon allocated them), not the daemon's RSS. */
    uint64_t rss1 = rss_of(h->daemon);
    printf("daemon RSS %llu -> %llu KiB; cgroup holds %llu KiB\n",
           (unsigned long long)rss0 / 1024, (unsigned long long)rss1 / 1024,
           (unsigned long long)cgroup_usage(&g_cg) / 1024);
    assert_true(rss1 < rss0 + st.bytes_volatile / 16);
    assert_true(cgroup_usage(&g_cg) >= st.bytes_volatile);
    sharr_disconnect(c);
    munmap(mine, sizeof *mine);
    munmap(root, sizeof *root);
}

#define RACERS 8

struct racer {
    pthread_barrier_t *start;
    int index;
    uint64_t each;
    int rc;
    char msg[256];
};

static void *race_create(void *arg)
{
    struct racer *r = arg;
    sharr_t *c = NULL;
    char name[16];
    const uint64_t shape[1] = { r->each };
    sharr_array_t *a = NULL;
    r->rc = sharr_connect(g_h->sock, &c);
    pthread_barrier_wait(r->start);
    if (r->rc != 0)
        return NULL;
    snprintf(name, sizeof name, "race%d", r->index);
    r->rc = sharr_create(c, name, "|u1", 1, shape, NULL, &a);
    snprintf(r->msg, sizeof r->msg, "%s", r->rc == 0 ? "" : sharr_last_error());
    sharr_close(a);
    sharr_disconnect(c);
    return NULL;
}

/* Eight creates of 30 MiB at once (each on the thread pool, none finished when the
 * next is granted) against a cap of 100 MiB: exactly three fit, the others are
 * refused at once, and what they reserved comes back when the arrays go. */
static void test_concurrent_creates_cannot_pass_the_cap_together(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-volatile-bytes", "100M", NULL };
    launch_daemon(h, flags, 0);
    pthread_barrier_t start;
    pthread_t t[RACERS];
    struct racer r[RACERS];
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){ .start = &start, .index = i, .each = 30 * MIB };
        assert_int_equal(pthread_create(&t[i], NULL, race_create, &r[i]), 0);
    }
    int made = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        made += r[i].rc == 0;
        if (r[i].rc == -ENOSPC && strstr(r[i].msg, "--max-volatile-bytes"))
            refused++;
        else if (r[i].rc != 0)
            printf("racer %d: %d %s\n", i, r[i].rc, r[i].msg);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(made, 3);
    assert_int_equal(refused, RACERS - 3);
    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    assert_int_equal(st.bytes_volatile, 3 * 30 * MIB);
    assert_int_equal(st.volatile_reserved, 3 * volatile_cost(30 * MIB));
    assert_int_equal(st.volatile_limit, 100 * MIB);
    for (int i = 0; i < RACERS; i++)
        if (r[i].rc == 0) {
            char name[16];
            snprintf(name, sizeof name, "race%d", i);
            assert_rc(sharr_unlink(c, name), 0);
        }
    assert_int_equal(harness_stats(c).volatile_reserved, 0);
    /* Released: three fit again. */
    for (int i = 0; i < 3; i++) {
        char name[16];
        const uint64_t shape[1] = { 30 * MIB };
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "again%d", i);
        assert_rc(sharr_create(c, name, "|u1", 1, shape, NULL, &a), 0);
        sharr_close(a);
    }
    sharr_disconnect(c);
}

static int child_one_over(void *arg)
{
    const uint64_t *n = arg;
    sharr_t *c = NULL;
    const uint64_t shape[1] = { *n };
    sharr_array_t *a = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "big", "|u1", 1, shape, NULL, &a) == -EDQUOT);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-volatile-bytes-per-uid") != NULL);
    sharr_disconnect(c);
    return 0;
}

/* With default flags and a cgroup whose limit is above MemTotal, the caps are half of
 * MemTotal and a quarter of that per uid, as stats and --help say; a create past
 * either is refused at once, before a page is allocated. */
static void test_default_caps_are_half_of_memory_and_a_quarter_of_that_per_uid(void **state)
{
    struct harness *h = g_h = *state;
    char why[512];
    if (cgroup_make(&g_cg, 4 * mem_total(), why, sizeof why) < 0)
        testskip("no memory cgroup can be made here: %s", why);
    launch_daemon_in(h, NULL, g_cg.procs);
    asuser_open_dir(h);
    const uint64_t memory = cgroup_memory();
    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    printf("memory %llu: volatile caps %llu, %llu per uid\n", (unsigned long long)memory,
           (unsigned long long)st.volatile_limit, (unsigned long long)st.volatile_limit_per_uid);
    assert_int_equal(st.volatile_limit, memory / 2);
    assert_int_equal(st.volatile_limit_per_uid, memory / 2 / 4);

    /* One page more than the per-uid cap, as nobody: EDQUOT. */
    uint64_t over = st.volatile_limit_per_uid - PROTO_DATA_OFFSET + 1;
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_one_over, &over), 0);
    /* Root is held by the total alone. */
    const uint64_t shape[1] = { st.volatile_limit - PROTO_DATA_OFFSET + 1 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "big", "|u1", 1, shape, NULL, &a), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-volatile-bytes)"));
    st = harness_stats(c);
    assert_int_equal(st.volatile_reserved, 0);
    assert_int_equal(st.arrays, 0);
    sharr_disconnect(c);

    const char *const help[] = { "--help", NULL };
    struct harness_run r;
    launch_run(h, help, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--max-volatile-bytes SIZE|N%"));
    assert_non_null(strstr(r.out, "(default 50%, here "));
    harness_run_free(&r);
}

/* A running daemon moved into a 256 MiB memory cgroup takes its limit at the next
 * reload (SIGHUP): the caps shrink to match, and a create past them is refused. */
static void test_daemon_moved_into_a_memory_cgroup_takes_its_limit_at_reload(void **state)
{
    struct harness *h = *state;
    char why[512], pid[16];
    if (cgroup_make(&g_cg, 256 * MIB, why, sizeof why) < 0)
        testskip("no memory cgroup can be made here: %s", why);
    sharr_t *c = harness_connect(h);
    assert_true(harness_stats(c).volatile_limit > 128 * MIB);
    FILE *f = fopen(g_cg.procs, "we");
    assert_non_null(f);
    snprintf(pid, sizeof pid, "%d", (int)h->daemon);
    assert_true(fputs(pid, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(kill(h->daemon, SIGHUP), 0);
    const uint64_t memory = cgroup_memory();
    struct sharr_stats st = harness_stats(c);
    for (int i = 0; i < 4000 && st.volatile_limit != memory / 2; i++) {
        usleep(5000);
        st = harness_stats(c);
    }
    assert_int_equal(st.volatile_limit, memory / 2);
    assert_int_equal(st.volatile_limit_per_uid, memory / 2 / 4);
    const uint64_t shape[1] = { memory / 2 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "big", "|u1", 1, shape, NULL, &a), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-volatile-bytes)"));
    sharr_disconnect(c);
}

/* Percentages are of memory; sizes are bytes; 0 is no limit; bad values are refused
 * at start with the flag's name. */
static void test_volatile_cap_flags_take_sizes_and_percentages(void **state)
{
    struct harness *h = *state;
    const char *const pct[] = { "--max-volatile-bytes", "10%",
                                "--max-volatile-bytes-per-uid", "0", NULL };
    launch_daemon(h, pct, 0);
    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    assert_true(st.volatile_limit > 0);
    assert_true(st.volatile_limit <= mem_total() / 10);
    assert_int_equal(st.volatile_limit_per_uid, 0);
    sharr_disconnect(c);

    const char *const none[] = { "--max-volatile-bytes", "0", NULL };
    launch_daemon(h, none, 0);
    c = harness_connect(h);
    st = harness_stats(c);
    assert_int_equal(st.volatile_limit, 0);
    assert_int_equal(st.volatile_limit_per_uid, 0);
    sharr_disconnect(c);

    const char *const bad[][3] = {
        { "--max-volatile-bytes", "101%", NULL }, { "--max-volatile-bytes", "0%", NULL },
        { "--max-volatile-bytes", "%", NULL },    { "--max-volatile-bytes-per-uid", "x", NULL },
        { "--max-volatile-bytes-per-uid", "5%%", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct harness_run r;
        launch_run(h, bad[i], &r);
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, bad[i][0]));
        assert_non_null(strstr(r.err, "1%..100%"));
        harness_run_free(&r);
    }
}

/* What the child that keeps mappings saw, for the parent to print. */
struct kept {
    int made;            /* arrays it created, mapped, released and unlinked */
    int rc;              /* the create that stopped it */
    char msg[256];
    uint64_t reserved_held, reserved_free, reserved_replaced;
};

/* Map a's data with the child's own mapping, which outlives sharr_close. */
static unsigned char *map_own(sharr_array_t *a, uint64_t each)
{
    void *p = mmap(NULL, PROTO_DATA_OFFSET + each, PROT_READ | PROT_WRITE, MAP_SHARED,
                   sharr_array_fd(a), 0);
    return p == MAP_FAILED ? NULL : p;
}

static int child_keeps_mappings(void *arg)
{
    struct kept *k = arg;
    const uint64_t each = 4 * MIB, shape[1] = { each };
    unsigned char *held[8];
    struct sharr_stats st;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (k->made = 0; k->made < 8; k->made++) {
        char name[16];
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "kept%d", k->made);
        k->rc = sharr_create(c, name, "|u1", 1, shape, NULL, &a);
        if (k->rc != 0) {
            snprintf(k->msg, sizeof k->msg, "%s", sharr_last_error());
            break;
        }
        held[k->made] = map_own(a, each);
        CHILD_CHECK(held[k->made] != NULL);
        memset(held[k->made] + PROTO_DATA_OFFSET, k->made + 1, each);
        CHILD_CHECK(sharr_close(a) == 0);
        CHILD_CHECK(sharr_unlink(c, name) == 0);
    }
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved_held = st.volatile_reserved;
    for (int i = 0; i < k->made; i++) {
        CHILD_CHECK(held[i][PROTO_DATA_OFFSET + each - 1] == i + 1);
        CHILD_CHECK(munmap(held[i], PROTO_DATA_OFFSET + each) == 0);
    }
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved_free = st.volatile_reserved;

    /* w+ over an array this process still maps: both hold memory, both count. */
    const struct sharr_create_opts over = { .size = sizeof(over), .overwrite = 1 };
    sharr_array_t *old = NULL, *new = NULL;
    CHILD_CHECK(sharr_create(c, "over", "|u1", 1, shape, NULL, &old) == 0);
    unsigned char *old_data = map_own(old, each);
    CHILD_CHECK(old_data != NULL);
    CHILD_CHECK(sharr_close(old) == 0);
    CHILD_CHECK(sharr_create(c, "over", "|u1", 1, shape, &over, &new) == 0);
    CHILD_CHECK(sharr_close(new) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved_replaced = st.volatile_reserved;
    CHILD_CHECK(munmap(old_data, PROTO_DATA_OFFSET + each) == 0);
    CHILD_CHECK(sharr_unlink(c, "over") == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    CHILD_CHECK(st.volatile_reserved == 0);
    sharr_disconnect(c);
    return 0;
}

/* A client that releases and unlinks its arrays but keeps mappings of them (or
 * descriptors, or children that inherited them) still holds their memory, all of it
 * charged to sharrd's cgroup: they count against its owner until the last mapping
 * goes, so keeping them cannot take more than the caps. With 16 MiB per uid, nobody
 * keeps three arrays of 4 MiB and the fourth create is refused; unmapped, they are
 * free again at once. A replaced array still mapped counts beside its replacement. */
static void test_arrays_released_but_still_mapped_count_until_unmapped(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-volatile-bytes", "64M",
                                  "--max-volatile-bytes-per-uid", "16M", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct kept *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof *k);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_keeps_mappings, k), 0);
    printf("nobody kept %d arrays mapped, then: %s\n", k->made, k->msg);
    assert_int_equal(k->made, 3);
    assert_int_equal(k->rc, -EDQUOT);
    assert_non_null(strstr(k->msg, "--max-volatile-bytes-per-uid"));
    assert_int_equal(k->reserved_held, 3 * volatile_cost(4 * MIB));
    assert_int_equal(k->reserved_free, 0);
    assert_int_equal(k->reserved_replaced, 2 * volatile_cost(4 * MIB));
    munmap(k, sizeof *k);
}

/* A volatile array has every page of its header and data from its create on (a full
 * memory is an error at create, never a SIGBUS later), its header in place and its
 * data zero: small arrays, whose zeros are written with the header, as large ones. */
static void test_volatile_arrays_have_every_page_from_the_create(void **state)
{
    struct harness *h = g_h = *state;
    const uint64_t sizes[] = { 1, 4095, 4096, 40000, 64 * 1024, 64 * 1024 + 1, MIB + 3 };
    launch_daemon(h, NULL, 0);
    sharr_t *c = NULL;
    assert_int_equal(sharr_connect(h->sock, &c), 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const uint64_t n = sizes[i], pages = (PROTO_DATA_OFFSET + n + 4095) / 4096;
        sharr_array_t *a = NULL;
        struct stat st;
        char head[6];
        if (sharr_create(c, "pages", "|u1", 1, &n, NULL, &a) != 0)
            fail_msg("create of %llu bytes: %s", (unsigned long long)n, sharr_last_error());
        assert_int_equal(fstat(sharr_array_fd(a), &st), 0);
        printf("%llu bytes of data: size %lld, %lld blocks of 512\n", (unsigned long long)n,
               (long long)st.st_size, (long long)st.st_blocks);
        assert_int_equal(st.st_size, PROTO_DATA_OFFSET + n);
        assert_true((uint64_t)st.st_blocks * 512 >= pages * 4096);
        assert_int_equal(pread(sharr_array_fd(a), head, sizeof head, 0), (ssize_t)sizeof head);
        assert_memory_equal(head, "\x93NUMPY", sizeof head);
        for (uint64_t j = 0; j < n; j++)
            if (((const unsigned char *)sharr_array_data(a))[j] != 0)
                fail_msg("byte %llu of %llu is not zero", (unsigned long long)j,
                         (unsigned long long)n);
        assert_int_equal(sharr_close(a), 0);
        assert_int_equal(sharr_unlink(c, "pages"), 0);
    }
    sharr_disconnect(c);
}

/* What the child that keeps read-only holds saw: volatile_reserved with all four kept,
 * then after each is let go in turn. */
struct kept_readers {
    uint64_t reserved[5];
};

/* Create name (each bytes), write it, close it: the creator holds nothing after. */
static int create_written(sharr_t *c, const char *name, uint64_t each)
{
    const uint64_t shape[1] = { each };
    sharr_array_t *a = NULL;
    unsigned char *p;

    if (sharr_create(c, name, "|u1", 1, shape, NULL, &a) != 0)
        return -1;
    p = sharr_array_data(a);
    memset(p, 7, each);
    return sharr_close(a);
}

static int child_keeps_read_only_holds(void *arg)
{
    struct kept_readers *k = arg;
    const uint64_t each = 4 * MIB, len = PROTO_DATA_OFFSET + each;
    static const char *const names[] = { "rmap", "rfd", "wfd", "cow" };
    struct sharr_stats st;
    sharr_array_t *a = NULL;
    sharr_t *c = NULL;
    unsigned char *rmap, *cow;
    int rfd, wfd;

    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (size_t i = 0; i < 4; i++)
        CHILD_CHECK(create_written(c, names[i], each) == 0);
    /* A reader's own shared mapping of its O_RDONLY descriptor. */
    CHILD_CHECK(sharr_open(c, "rmap", "r", NULL, &a) == 0);
    rmap = mmap(NULL, len, PROT_READ, MAP_SHARED, sharr_array_fd(a), 0);
    CHILD_CHECK(rmap != MAP_FAILED);
    CHILD_CHECK(sharr_close(a) == 0);
    /* A reader's descriptor, nothing mapped. */
    CHILD_CHECK(sharr_open(c, "rfd", "r", NULL, &a) == 0);
    rfd = dup(sharr_array_fd(a));
    CHILD_CHECK(rfd >= 0 && sharr_close(a) == 0);
    /* A writer's descriptor, nothing mapped. */
    CHILD_CHECK(sharr_open(c, "wfd", "r+", NULL, &a) == 0);
    wfd = dup(sharr_array_fd(a));
    CHILD_CHECK(wfd >= 0 && sharr_close(a) == 0);
    /* A copy-on-write mapping (mode c: O_RDONLY, MAP_PRIVATE) with a page copied. */
    CHILD_CHECK(sharr_open(c, "cow", "c", NULL, &a) == 0);
    cow = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, sharr_array_fd(a), 0);
    CHILD_CHECK(cow != MAP_FAILED);
    cow[PROTO_DATA_OFFSET] = 9;
    CHILD_CHECK(sharr_close(a) == 0);
    for (size_t i = 0; i < 4; i++)
        CHILD_CHECK(sharr_unlink(c, names[i]) == 0);

    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[0] = st.volatile_reserved;
    CHILD_CHECK(rmap[len - 1] == 7 && munmap(rmap, len) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[1] = st.volatile_reserved;
    CHILD_CHECK(close(rfd) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[2] = st.volatile_reserved;
    CHILD_CHECK(close(wfd) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[3] = st.volatile_reserved;
    CHILD_CHECK(cow[PROTO_DATA_OFFSET] == 9 && munmap(cow, len) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[4] = st.volatile_reserved;
    sharr_disconnect(c);
    return 0;
}

/* Not only a creator's mapping keeps an unlinked array's memory: a reader's shared or
 * copy-on-write mapping, or a descriptor kept without a mapping (read-only or
 * writable), do too, and each counts against its owner until that one is let go. */
static void test_arrays_released_but_held_by_readers_or_descriptors_count_until_let_go(
    void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-volatile-bytes", "64M",
                                  "--max-volatile-bytes-per-uid", "32M", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct kept_readers *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0xff, sizeof *k);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_keeps_read_only_holds, k), 0);
    for (int i = 0; i < 5; i++) {
        printf("%d of 4 holds let go: volatile_reserved %llu\n", i,
               (unsigned long long)k->reserved[i]);
        assert_int_equal(k->reserved[i], (uint64_t)(4 - i) * volatile_cost(4 * MIB));
    }
    munmap(k, sizeof *k);
}

/* What the child that holds arrays only by O_PATH descriptors saw. */
struct kept_paths {
    uint32_t mode, owner;  /* the memfd's inode as the client sees it */
    int reopen_errno;      /* its O_RDONLY reopen through /proc/self/fd */
    uint64_t reserved[4];  /* with all held, then after each is closed in turn */
    uint64_t kept[3];      /* bytes of memory each held file still has (st_blocks) */
};

/* An O_PATH descriptor of the file a's descriptor is open on, made through /proc. */
static int path_of(sharr_array_t *a)
{
    char path[64];

    snprintf(path, sizeof path, "/proc/self/fd/%d", sharr_array_fd(a));
    return open(path, O_PATH | O_CLOEXEC);
}

/* Into k: the mode and owner of a's descriptor's file, and how an O_RDONLY reopen of
 * it through /proc/self/fd ends (0 or its errno). In a child: exits on failure. */
static void note_descriptor(struct kept_paths *k, sharr_array_t *a)
{
    struct stat sb;
    char path[64];
    int fd;

    CHILD_CHECK(fstat(sharr_array_fd(a), &sb) == 0);
    k->mode = sb.st_mode & 07777;
    k->owner = sb.st_uid;
    snprintf(path, sizeof path, "/proc/self/fd/%d", sharr_array_fd(a));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    k->reopen_errno = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
}

/* Create n arrays of 8 MiB (published when publish), hold each by an O_PATH descriptor
 * made from one opened in modes[i], unlink them all, and say what is counted and kept. */
static int holds_by_path_only(struct kept_paths *k, size_t n, const char *const *modes,
                              bool publish)
{
    const uint64_t each = 8 * MIB;
    static const char *const names[] = { "path0", "path1", "path2" };
    struct sharr_stats st;
    sharr_array_t *a = NULL;
    sharr_t *c = NULL;
    struct stat sb;
    int held[3];

    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (size_t i = 0; i < n; i++) {
        CHILD_CHECK(create_written(c, names[i], each) == 0);
        if (publish)
            CHILD_CHECK(sharr_publish(c, names[i], NULL) == 0);
        CHILD_CHECK(sharr_open(c, names[i], modes[i], NULL, &a) == 0);
        note_descriptor(k, a);
        held[i] = path_of(a);
        CHILD_CHECK(held[i] >= 0);
        CHILD_CHECK(sharr_close(a) == 0);
        CHILD_CHECK(sharr_unlink(c, names[i]) == 0);
    }
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[0] = st.volatile_reserved;
    for (size_t i = 0; i < n; i++) {
        CHILD_CHECK(fstat(held[i], &sb) == 0);
        k->kept[i] = (uint64_t)sb.st_blocks * 512;
    }
    for (size_t i = 0; i < n; i++) {
        CHILD_CHECK(close(held[i]) == 0);
        CHILD_CHECK(sharr_stats(c, &st) == 0);
        k->reserved[i + 1] = st.volatile_reserved;
    }
    sharr_disconnect(c);
    return 0;
}

static int child_holds_writable_and_readable_by_path(void *arg)
{
    static const char *const modes[] = { "r+", "r", "c" };

    return holds_by_path_only(arg, 3, modes, false);
}

/* What check_held_by_path's child saw last time (the tests run one at a time). */
static struct kept_paths kept_paths_saw;
static const struct kept_paths *const kept_paths_last = &kept_paths_saw;

/* Run child as nobody and check what it saw: n arrays held by O_PATH alone keep no more
 * memory than is counted, and nothing is counted once they are closed. */
static void check_held_by_path(struct harness *h, int (*child)(void *), size_t n)
{
    const char *const flags[] = { "--max-volatile-bytes", "256M",
                                  "--max-volatile-bytes-per-uid", "128M", NULL };
    uint64_t kept = 0;

    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct kept_paths *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof *k);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child, k), 0);
    printf("memfd mode %o owner %u; O_RDONLY reopen: %s\n", k->mode, k->owner,
           strerror(k->reopen_errno));
    assert_int_equal(k->mode & 0077, 0);
    assert_int_equal(k->owner, 0);
    assert_int_equal(k->reopen_errno, EACCES);
    for (size_t i = 0; i < n; i++) {
        printf("held by O_PATH %zu: keeps %llu bytes; volatile_reserved %llu after its "
               "close\n", i, (unsigned long long)k->kept[i],
               (unsigned long long)k->reserved[i + 1]);
        kept += k->kept[i];
    }
    printf("all held: volatile_reserved %llu, they keep %llu bytes\n",
           (unsigned long long)k->reserved[0], (unsigned long long)kept);
    assert_true(kept <= k->reserved[0]);
    kept_paths_saw = *k;
    munmap(k, sizeof *k);
    assert_int_equal(kept_paths_saw.reserved[n], 0);
}

/* A descriptor opened with O_PATH (through /proc/self/fd, from any descriptor a client
 * was given) is neither a reader nor a writer, so no lease sees it, yet it keeps the
 * memfd and its pages. Nobody may keep memory that way uncounted: an array freed while
 * only such descriptors remain has no pages left. The client cannot reopen the memfd
 * for reading or writing (the daemon's, 0600), so none come back. */
static void test_arrays_held_only_by_o_path_descriptors_keep_no_uncounted_memory(void **state)
{
    check_held_by_path(g_h = *state, child_holds_writable_and_readable_by_path, 3);
}

static int child_holds_published_by_path(void *arg)
{
    static const char *const modes[] = { "r", "r", "c" };

    return holds_by_path_only(arg, 3, modes, true);
}

/* Create an array of 4 MiB with room to grow to 16 MiB, write it, grow it to 8 MiB and
 * write the new part, then through a mapping of the whole memfd write 4 MiB of its room
 * beyond the array too (a writer's descriptor reaches all of it): every page the file
 * has, held by an O_PATH descriptor alone once unlinked. */
static int child_holds_grown_by_path(void *arg)
{
    struct kept_paths *k = arg;
    struct sharr_create_opts opts = SHARR_CREATE_OPTS_INIT;
    const uint64_t shape[1] = { 4 * MIB };
    struct sharr_stats st;
    sharr_array_t *a = NULL;
    sharr_t *c = NULL;
    struct stat sb;
    unsigned char *p;
    int held;

    opts.max_len = 16 * MIB;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "grown", "|u1", 1, shape, &opts, &a) == 0);
    note_descriptor(k, a);
    memset(sharr_array_data(a), 7, 4 * MIB);
    CHILD_CHECK(sharr_grow(c, "grown", 8 * MIB, NULL) == 0);
    CHILD_CHECK(sharr_array_refresh(a) == 1);
    memset((unsigned char *)sharr_array_data(a) + 4 * MIB, 8, 4 * MIB);
    CHILD_CHECK(fstat(sharr_array_fd(a), &sb) == 0);
    CHILD_CHECK((uint64_t)sb.st_size >= PROTO_DATA_OFFSET + 16 * MIB);
    p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
             sharr_array_fd(a), 0);
    CHILD_CHECK(p != MAP_FAILED);
    memset(p + PROTO_DATA_OFFSET + 12 * MIB, 9, 4 * MIB);
    CHILD_CHECK(munmap(p, (size_t)sb.st_size) == 0);
    CHILD_CHECK(fstat(sharr_array_fd(a), &sb) == 0);
    k->kept[1] = (uint64_t)sb.st_blocks * 512; /* what the file had while attached */
    held = path_of(a);
    CHILD_CHECK(held >= 0);
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(sharr_unlink(c, "grown") == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[0] = st.volatile_reserved;
    CHILD_CHECK(fstat(held, &sb) == 0);
    k->kept[0] = (uint64_t)sb.st_blocks * 512;
    CHILD_CHECK(close(held) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    k->reserved[1] = st.volatile_reserved;
    sharr_disconnect(c);
    return 0;
}

/* A grown array's memfd has pages past the length it was created with, and a writer
 * may have filled part of the room it has left to grow: freed while only an O_PATH
 * descriptor holds it, it keeps none of them (the whole file is given back, not the
 * array's first length nor only its present one). */
static void test_grown_array_held_only_by_o_path_descriptor_keeps_no_page(void **state)
{
    struct harness *h = g_h = *state;

    check_held_by_path(h, child_holds_grown_by_path, 1);
    printf("the grown array's file had %llu bytes of pages while attached\n",
           (unsigned long long)kept_paths_last->kept[1]);
    assert_true(kept_paths_last->kept[1] >= 12 * MIB);
    assert_int_equal(kept_paths_last->reserved[0], 0);
    assert_int_equal(kept_paths_last->kept[0], 0);
}

/* A published array's memfd (F_SEAL_FUTURE_WRITE) cannot have its pages taken back, so
 * one held only by O_PATH descriptors stays counted until the last of them closes. */
static void test_published_arrays_held_only_by_o_path_descriptors_count_until_closed(
    void **state)
{
    struct harness *h = g_h = *state;

    check_held_by_path(h, child_holds_published_by_path, 3);
    assert_int_equal(kept_paths_last->reserved[0], 3 * volatile_cost(8 * MIB));
    assert_int_equal(kept_paths_last->reserved[1], 2 * volatile_cost(8 * MIB));
    assert_int_equal(kept_paths_last->reserved[2], volatile_cost(8 * MIB));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_small_memory_cgroup_refuses_creates_instead_of_dying,
                                        harness_setup, teardown_cgroup),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_cannot_pass_the_cap_together,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_default_caps_are_half_of_memory_and_a_quarter_of_that_per_uid, harness_setup,
            teardown_cgroup),
        cmocka_unit_test_setup_teardown(
            test_daemon_moved_into_a_memory_cgroup_takes_its_limit_at_reload, harness_setup,
            teardown_cgroup),
        cmocka_unit_test_setup_teardown(test_volatile_cap_flags_take_sizes_and_percentages,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_arrays_released_but_still_mapped_count_until_unmapped, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_arrays_released_but_held_by_readers_or_descriptors_count_until_let_go,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_volatile_arrays_have_every_page_from_the_create,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_arrays_held_only_by_o_path_descriptors_keep_no_uncounted_memory,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_grown_array_held_only_by_o_path_descriptor_keeps_no_page, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_published_arrays_held_only_by_o_path_descriptors_count_until_closed,
            harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
