/* cgroup.c — make and remove the memory cgroup a test runs sharrd in.
 *
 * The hierarchy is found in /proc/self/mountinfo (a cgroup2 mount whose root offers
 * the memory controller, else a cgroup v1 mount with the memory controller) and this
 * process's place in it in /proc/self/cgroup.
 */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Write text to dir/file. 0 or -errno. */
static int cgroup_write(const char *dir, const char *file, const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int r = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return r;
}

/* The first line of dir/file into out (newline removed). 0 or -errno. */
static int cgroup_read(const char *dir, const char *file, char *out, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    bool ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    if (!ok)
        return -EIO;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

/* Is word one of the entries of list, separated by sep? */
static bool cgroup_has(const char *list, const char *word, char sep)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p; p = strchr(p, sep) ? strchr(p, sep) + 1 : NULL) {
        if (strncmp(p, word, n) == 0 && (p[n] == sep || p[n] == '\0' || p[n] == '\n'))
            return true;
    }
    return false;
}

/* The mount point and root of the v2 hierarchy (version 2) or of the v1 memory
 * hierarchy (version 1). 0 or -ENOENT. */
static int cgroup_mount(int version, char *point, size_t plen, char *root, size_t rlen)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int r = -ENOENT;

    while (f && r < 0 && fgets(line, sizeof line, f)) {
        char mroot[1024], mpoint[1024], fstype[64], super[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", mroot, mpoint) != 2 ||
            sscanf(dash, " - %63s %*s %1023s", fstype, super) != 2)
            continue;
        if ((version == 2 && strcmp(fstype, "cgroup2") == 0) ||
            (version == 1 && strcmp(fstype, "cgroup") == 0 && cgroup_has(super, "memory", ','))) {
            snprintf(point, plen, "%s", mpoint);
            snprintf(root, rlen, "%s", mroot);
            r = 0;
        }
    }
    if (f)
        fclose(f);
    return r;
}

/* This process's cgroup path in the v2 hierarchy ("0::") or the v1 memory one. */
static int cgroup_self(int version, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[4096];
    int r = -ENOENT;

    while (f && r < 0 && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        bool v2 = strcmp(line, "0") == 0 && c1[1] == '\0';
        if ((version == 2 && v2) || (version == 1 && !v2 && cgroup_has(c1 + 1, "memory", ','))) {
            c2[1 + strcspn(c2 + 1, "\n")] = '\0';
            snprintf(out, len, "%s", c2 + 1);
            r = 0;
        }
    }
    if (f)
        fclose(f);
    return r;
}

/* Make dir with limit; on failure leave nothing. */
static int cgroup_try(struct cgroup *cg, const char *mount, const char *dir, int version,
                      uint64_t limit)
{
    char text[32];
    int r;

    if (mkdir(dir, 0755) < 0)
        return -errno;
    snprintf(cg->dir, sizeof cg->dir, "%s", dir);
    snprintf(cg->mount, sizeof cg->mount, "%s", mount);
    snprintf(cg->procs, sizeof cg->procs, "%s/cgroup.procs", dir);
    cg->version = version;
    snprintf(text, sizeof text, "%llu", (unsigned long long)limit);
    if (version == 2) {
        r = cgroup_write(dir, "memory.max", text);
        (void)cgroup_write(dir, "memory.swap.max", "0"); /* absent without swap accounting */
    } else {
        r = cgroup_write(dir, "memory.limit_in_bytes", text);
        (void)cgroup_write(dir, "memory.memsw.limit_in_bytes", text);
    }
    if (r < 0) {
        rmdir(dir);
        cg->dir[0] = '\0';
    }
    return r;
}

int cgroup_make(struct cgroup *cg, uint64_t limit, char *why, size_t whylen)
{
    char point[1024], root[1024], self[1024], dir[2200], ctl[256] = "";
    static unsigned seq;
    int r;

    memset(cg, 0, sizeof(*cg));
    seq++;
    if (cgroup_mount(2, point, sizeof point, root, sizeof root) == 0
        && cgroup_read(point, "cgroup.controllers", ctl, sizeof ctl) == 0
        && cgroup_has(ctl, "memory", ' ')) {
        char sub[256] = "";
        if (cgroup_read(point, "cgroup.subtree_control", sub, sizeof sub) == 0
            && !cgroup_has(sub, "memory", ' '))
            (void)cgroup_write(point, "cgroup.subtree_control", "+memory");
        snprintf(dir, sizeof dir, "%s/sharr-test-%d-%u", point, (int)getpid(), seq);
        r = cgroup_try(cg, point, dir, 2, limit);
        if (r == 0)
            return 0;
        snprintf(why, whylen, "cgroup v2 at %s offers memory, but %s: %s", point, dir,
                 strerror(-r));
        return r;
    }
    if (cgroup_mount(1, point, sizeof point, root, sizeof root) < 0) {
        snprintf(why, whylen, "no cgroup v2 hierarchy with the memory controller and no "
                 "cgroup v1 memory hierarchy is mounted");
        return -ENOENT;
    }
    /* A v1 hierarchy nests limits: under our own cgroup, the one above still holds. */
    if (cgroup_self(1, self, sizeof self) == 0 && strncmp(self, root, strlen(root)) == 0) {
        const char *rest = self + strlen(root);
        snprintf(dir, sizeof dir, "%s%s%s/sharr-test-%d-%u", point, rest[0] == '/' ? "" : "/",
                 strcmp(rest, "/") == 0 ? "" : rest, (int)getpid(), seq);
        if (cgroup_try(cg, point, dir, 1, limit) == 0)
            return 0;
    }
    snprintf(dir, sizeof dir, "%s/sharr-test-%d-%u", point, (int)getpid(), seq);
    r = cgroup_try(cg, point, dir, 1, limit);
    if (r < 0)
        snprintf(why, whylen, "cannot make a cgroup v1 memory cgroup %s: %s", dir, strerror(-r));
    return r;
}

uint64_t cgroup_limit(const struct cgroup *cg)
{
    char dir[sizeof cg->dir], text[64];
    const char *file = cg->version == 2 ? "memory.max" : "memory.limit_in_bytes";
    uint64_t lowest = UINT64_MAX;

    snprintf(dir, sizeof dir, "%s", cg->dir);
    while (strlen(dir) >= strlen(cg->mount)) {
        if (cgroup_read(dir, file, text, sizeof text) == 0 && text[0] >= '0' && text[0] <= '9') {
            uint64_t v = strtoull(text, NULL, 10);
            if (v < lowest && (cg->version == 2 || v < (1ull << 62)))
                lowest = v;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || strlen(dir) == strlen(cg->mount))
            break;
        *slash = '\0';
    }
    return lowest;
}

uint64_t cgroup_usage(const struct cgroup *cg)
{
    char text[64];
    if (cg->dir[0] == '\0' ||
        cgroup_read(cg->dir, cg->version == 2 ? "memory.current" : "memory.usage_in_bytes",
                    text, sizeof text) < 0)
        return 0;
    return strtoull(text, NULL, 10);
}

void cgroup_remove(struct cgroup *cg)
{
    if (cg->dir[0] == '\0')
        return;
    /* A process that just exited may still count as a member for a moment. */
    for (int i = 0; i < 400 && rmdir(cg->dir) < 0 && errno == EBUSY; i++) {
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    cg->dir[0] = '\0';
}
