/* hugepages.c — the page size of a new volatile array, from --huge-pages and what
 * /proc/meminfo and /sys/kernel/mm say. Reading is apart from choosing, so that the
 * daemon can keep a reading and tests can choose for any host.
 */
#include "hugepages.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HUGEPAGES_THP_DIR "/sys/kernel/mm/transparent_hugepage"

static const char *const hugepages_names[] = {
    [HUGEPAGES_AUTO] = "auto",
    [HUGEPAGES_NEVER] = "never",
    [HUGEPAGES_THP] = "thp",
    [HUGEPAGES_HUGETLB] = "hugetlb",
};

int hugepages_mode_parse(const char *s, enum hugepages_mode *ret_mode)
{
    for (size_t i = 0; i < sizeof(hugepages_names) / sizeof(hugepages_names[0]); i++) {
        if (strcmp(s, hugepages_names[i]) == 0) {
            *ret_mode = (enum hugepages_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *hugepages_mode_name(enum hugepages_mode mode)
{
    return (unsigned)mode < sizeof(hugepages_names) / sizeof(hugepages_names[0])
               ? hugepages_names[mode] : "?";
}

/* The first line of root + path, without its newline; false when unreadable. */
static bool hugepages_line(const char *root, const char *path, char *out, size_t len)
{
    char full[512];
    FILE *f;
    bool ok;

    if ((size_t)snprintf(full, sizeof(full), "%s%s", root, path) >= sizeof(full))
        return false;
    f = fopen(full, "re");
    if (!f)
        return false;
    ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
    return ok;
}

/* The number in root + path, or 0. */
static uint64_t hugepages_number(const char *root, const char *path)
{
    char line[64];
    unsigned long long v;

    return hugepages_line(root, path, line, sizeof(line)) && sscanf(line, "%llu", &v) == 1
               ? v : 0;
}

/* The default hugetlb page size (Hugepagesize of /proc/meminfo) in bytes, or 0. */
static uint64_t hugepages_hugetlb_size(const char *root)
{
    char full[512], line[128];
    unsigned long long kib = 0;
    bool found = false;
    FILE *f;

    snprintf(full, sizeof(full), "%s/proc/meminfo", root);
    f = fopen(full, "re");
    while (f && !found && fgets(line, sizeof(line), f))
        found = sscanf(line, "Hugepagesize: %llu kB", &kib) == 1;
    if (f)
        fclose(f);
    return found ? (uint64_t)kib * 1024 : 0;
}

/* The number in file of the hugetlb pool of pages of size bytes. */
static uint64_t hugepages_pool(const char *root, uint64_t size, const char *file)
{
    char path[128];

    snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/%s",
             (unsigned long long)(size / 1024), file);
    return hugepages_number(root, path);
}

/* The word in brackets of a sysfs choice ("always [advise] never" -> "advise"). */
static bool hugepages_chosen(const char *line, char *out, size_t len)
{
    const char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;

    if (!close || (size_t)(close - open - 1) >= len)
        return false;
    memcpy(out, open + 1, (size_t)(close - open - 1));
    out[close - open - 1] = '\0';
    return true;
}

/* shmem_enabled for huge pages of pmd bytes: that size's own setting (kernels with
 * mTHP) unless it says "inherit", else the global one. */
static enum hugepages_shmem hugepages_shmem(const char *root, uint64_t pmd)
{
    char line[128], word[32], path[128];

    snprintf(path, sizeof(path), HUGEPAGES_THP_DIR "/hugepages-%llukB/shmem_enabled",
             (unsigned long long)(pmd / 1024));
    if (!hugepages_line(root, path, line, sizeof(line))
        || !hugepages_chosen(line, word, sizeof(word)) || strcmp(word, "inherit") == 0) {
        if (!hugepages_line(root, HUGEPAGES_THP_DIR "/shmem_enabled", line, sizeof(line))
            || !hugepages_chosen(line, word, sizeof(word)))
            return HUGEPAGES_SHMEM_NEVER;
    }
    if (strcmp(word, "always") == 0 || strcmp(word, "force") == 0)
        return HUGEPAGES_SHMEM_ALWAYS;
    if (strcmp(word, "within_size") == 0)
        return HUGEPAGES_SHMEM_WITHIN;
    if (strcmp(word, "advise") == 0)
        return HUGEPAGES_SHMEM_ADVISE;
    return HUGEPAGES_SHMEM_NEVER;
}

void hugepages_read(const char *root, bool pool, struct hugepages_host *ret)
{
    uint64_t free_pages, resv;

    memset(ret, 0, sizeof(*ret));
    ret->pmd = hugepages_number(root, HUGEPAGES_THP_DIR "/hpage_pmd_size");
    ret->shmem = ret->pmd ? hugepages_shmem(root, ret->pmd) : HUGEPAGES_SHMEM_NEVER;
    if (!pool)
        return;
    ret->tlb = hugepages_hugetlb_size(root);
    if (!ret->tlb)
        return;
    ret->tlb_total = hugepages_pool(root, ret->tlb, "nr_hugepages");
    free_pages = hugepages_pool(root, ret->tlb, "free_hugepages");
    resv = hugepages_pool(root, ret->tlb, "resv_hugepages");
    ret->tlb_free = free_pages > resv ? free_pages - resv : 0;
}

/* size rounded up to a multiple of page, or 0 on overflow. */
static uint64_t hugepages_round(uint64_t size, uint64_t page)
{
    return size > UINT64_MAX - (page - 1) ? 0 : (size + page - 1) / page * page;
}

/* Whether an array of size bytes is large enough for pages of page bytes. */
static bool hugepages_large(uint64_t size, uint64_t page)
{
    return page != 0 && size / page >= HUGEPAGES_MIN_PAGES && hugepages_round(size, page);
}

struct hugepages_choice hugepages_choose(const struct hugepages_host *h,
                                         enum hugepages_mode mode, uint64_t size)
{
    struct hugepages_choice c = { .kind = HUGEPAGES_SMALL,
                                  .page_size = (uint64_t)sysconf(_SC_PAGESIZE), .size = size };
    bool thp = mode == HUGEPAGES_AUTO || mode == HUGEPAGES_THP;

    if ((mode == HUGEPAGES_AUTO || mode == HUGEPAGES_HUGETLB) && hugepages_large(size, h->tlb)) {
        uint64_t need = hugepages_round(size, h->tlb) / h->tlb;

        if (h->tlb_free >= need)
            return (struct hugepages_choice){ HUGEPAGES_POOL, h->tlb,
                                              hugepages_round(size, h->tlb), false };
        c.pool_short = h->tlb_total > 0;
    }
    /* The kernel's own choice, which no mode can refuse: count what it takes. */
    if (h->shmem == HUGEPAGES_SHMEM_ALWAYS && hugepages_round(size, h->pmd))
        thp = true;
    else if (!thp || h->shmem == HUGEPAGES_SHMEM_NEVER || !hugepages_large(size, h->pmd))
        return c;
    c.kind = h->shmem == HUGEPAGES_SHMEM_ADVISE ? HUGEPAGES_SHMEM_MAPPED : HUGEPAGES_SHMEM;
    c.page_size = h->pmd;
    c.size = hugepages_round(size, h->pmd);
    return c;
}

uint64_t hugepages_size_now(const struct hugepages_host *h, enum hugepages_mode mode)
{
    if ((mode == HUGEPAGES_AUTO || mode == HUGEPAGES_HUGETLB) && h->tlb && h->tlb_free > 0)
        return h->tlb;
    if ((mode == HUGEPAGES_AUTO || mode == HUGEPAGES_THP || h->shmem == HUGEPAGES_SHMEM_ALWAYS)
        && h->shmem != HUGEPAGES_SHMEM_NEVER)
        return h->pmd;
    return 0;
}
