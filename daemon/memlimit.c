/* memlimit.c — MemTotal and the daemon's cgroup memory limit, read from /proc and
 * the cgroup filesystems (v2, and v1's memory controller on hybrid hosts).
 *
 * A cgroup's directory is its mount point plus its path from /proc/self/cgroup less
 * the mount's own root (mountinfo's fourth field), so a daemon in a container, which
 * sees only its part of the hierarchy, finds its files too.
 */
#include "memlimit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines of /proc/self/mountinfo and /proc/self/cgroup are short; a longer one (a
 * mount with a very long path) cannot be the cgroup mount we look for. */
#define MEMLIMIT_LINE_MAX 4096
/* cgroup v1 writes this (or PAGE_COUNTER_MAX pages, a little less) for "no limit". */
#define MEMLIMIT_V1_NONE (1ull << 62)

static FILE *memlimit_open(const char *root, const char *path)
{
    char full[MEMLIMIT_PATH_MAX * 2];

    if ((size_t)snprintf(full, sizeof(full), "%s%s", root, path) >= sizeof(full))
        return NULL;
    return fopen(full, "re");
}

static uint64_t memlimit_total(const char *root)
{
    unsigned long long kib = 0;
    char line[128];
    FILE *f = memlimit_open(root, "/proc/meminfo");
    bool found = false;

    while (f && !found && fgets(line, sizeof(line), f))
        found = sscanf(line, "MemTotal: %llu kB", &kib) == 1;
    if (f)
        fclose(f);
    return found ? (uint64_t)kib * 1024 : 0;
}

/* Is word one of the comma-separated entries of list? */
static bool memlimit_listed(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* The daemon's cgroup path in the v2 hierarchy (v2) or in v1's memory hierarchy. */
static bool memlimit_self(const char *root, bool v2, char *out, size_t len)
{
    char line[MEMLIMIT_LINE_MAX];
    FILE *f = memlimit_open(root, "/proc/self/cgroup");
    bool found = false;

    while (f && !found && fgets(line, sizeof(line), f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        c2[1 + strcspn(c2 + 1, "\n")] = '\0';
        if (v2 ? strcmp(line, "0") == 0 && c1[1] == '\0' : memlimit_listed(c1 + 1, "memory"))
            found = (size_t)snprintf(out, len, "%s", c2 + 1) < len;
    }
    if (f)
        fclose(f);
    return found;
}

/* Mount point and mount root (MEMLIMIT_PATH_MAX bytes each) of the v2 hierarchy, or
 * of v1's memory hierarchy. */
static bool memlimit_mount(const char *root, bool v2, char *point, char *mroot)
{
    char line[MEMLIMIT_LINE_MAX];
    FILE *f = memlimit_open(root, "/proc/self/mountinfo");
    bool found = false;

    while (f && !found && fgets(line, sizeof(line), f)) {
        char fstype[32], super[256];
        const char *dash = strstr(line, " - ");

        if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", mroot, point) != 2
            || sscanf(dash, " - %31s %*s %255s", fstype, super) != 2)
            continue;
        found = v2 ? strcmp(fstype, "cgroup2") == 0
                   : strcmp(fstype, "cgroup") == 0 && memlimit_listed(super, "memory");
    }
    if (f)
        fclose(f);
    return found;
}

/* The limit in file under dir (relative to root), UINT64_MAX for none or unreadable. */
static uint64_t memlimit_file(const char *root, const char *dir, const char *file, bool v2)
{
    char path[MEMLIMIT_PATH_MAX * 2], text[64];
    unsigned long long v;
    char *end;
    FILE *f;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        return UINT64_MAX;
    f = memlimit_open(root, path);
    if (!f)
        return UINT64_MAX;
    if (!fgets(text, sizeof(text), f))
        text[0] = '\0';
    fclose(f);
    text[strcspn(text, "\n")] = '\0';
    if (text[0] < '0' || text[0] > '9') /* "max", or nothing */
        return UINT64_MAX;
    v = strtoull(text, &end, 10);
    if (*end || (!v2 && v >= MEMLIMIT_V1_NONE))
        return UINT64_MAX;
    return v;
}

/* The lowest limit from the daemon's cgroup up to its mount point, in one hierarchy. */
static void memlimit_hierarchy(const char *root, bool v2, struct memlimit *ml)
{
    char point[MEMLIMIT_PATH_MAX], mroot[MEMLIMIT_PATH_MAX], self[MEMLIMIT_PATH_MAX];
    char dir[MEMLIMIT_PATH_MAX];
    const char *file = v2 ? "memory.max" : "memory.limit_in_bytes", *rest;
    size_t base, rootlen;

    if (!memlimit_self(root, v2, self, sizeof(self))
        || !memlimit_mount(root, v2, point, mroot))
        return;
    rootlen = strcmp(mroot, "/") == 0 ? 0 : strlen(mroot);
    if (strncmp(self, mroot, rootlen) != 0)
        return; /* a cgroup outside what is mounted here: nothing to read */
    rest = self + rootlen;
    if ((size_t)snprintf(dir, sizeof(dir), "%s%s", point, strcmp(rest, "/") == 0 ? "" : rest)
        >= sizeof(dir))
        return;
    base = strlen(point);
    for (;;) {
        uint64_t v = memlimit_file(root, dir, file, v2);
        char *slash;

        if (v < ml->cgroup) {
            ml->cgroup = v;
            if ((size_t)snprintf(ml->cgroup_file, sizeof(ml->cgroup_file), "%s/%s", dir, file)
                >= sizeof(ml->cgroup_file))
                snprintf(ml->cgroup_file, sizeof(ml->cgroup_file), "%s", file);
        }
        slash = strrchr(dir, '/');
        if (strlen(dir) <= base || !slash || (size_t)(slash - dir) < base)
            break;
        *slash = '\0';
    }
}

void memlimit_read(const char *root, struct memlimit *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->total = memlimit_total(root);
    ret->cgroup = UINT64_MAX;
    memlimit_hierarchy(root, true, ret);
    memlimit_hierarchy(root, false, ret);
    ret->ceiling = ret->total;
    if (ret->cgroup < ret->ceiling || ret->ceiling == 0)
        ret->ceiling = ret->cgroup == UINT64_MAX ? 0 : ret->cgroup;
}
