/* conffile.c — read sharrd.conf and turn its lines into long flags.
 *
 * Each line is trimmed; blank lines and lines starting with '#' are skipped;
 * "name = value" becomes "--name=value" and a bare "name" becomes "--name". A value
 * may be double-quoted to keep surrounding blanks. The file is at most
 * CONFFILE_SIZE_MAX bytes; "config", "help" and "version" cannot appear in it.
 */
#include "conffile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file named by --config in argv, CONFFILE_DEFAULT, or NULL. */
static const char *conffile_find(int argc, char **argv, bool *ret_explicit)
{
    const char *path = NULL;

    *ret_explicit = false;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
            *ret_explicit = true;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
            *ret_explicit = true;
        }
    }
    if (*ret_explicit)
        return path[0] ? path : NULL;
    return access(CONFFILE_DEFAULT, F_OK) == 0 ? CONFFILE_DEFAULT : NULL;
}

static int conffile_read(const char *path, char **ret_text, char *err, size_t errlen)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    ssize_t n;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return r;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFFILE_SIZE_MAX) {
        snprintf(err, errlen, "%s must be a regular file of at most %d bytes", path,
                 CONFFILE_SIZE_MAX);
        r = -EINVAL;
        goto out;
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        r = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (len < (size_t)st.st_size && (n = read(fd, text + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s holds a NUL byte", path);
        r = -EINVAL;
        goto out;
    }
    *ret_text = text;
    text = NULL;
    r = 0;
out:
    free(text);
    close(fd);
    return r;
}

static char *conffile_trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

/* Turn one trimmed line into "--name[=value]" at out (room for strlen(line) + 3). */
static int conffile_line(char *line, char *out, const char **why)
{
    char *eq = strchr(line, '='), *name, *value = NULL;
    size_t vlen;

    name = conffile_trim(line, eq ? eq : line + strlen(line));
    if (eq) {
        value = conffile_trim(eq + 1, eq + 1 + strlen(eq + 1));
        vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
    }
    if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)
        || name[0] == '-') {
        *why = "expected 'name = value' with the name of a long flag (lower case, '-')";
        return -EINVAL;
    }
    if (!strcmp(name, "config") || !strcmp(name, "help") || !strcmp(name, "version")) {
        *why = "'config', 'help' and 'version' are command-line flags only";
        return -EINVAL;
    }
    if (value)
        sprintf(out, "--%s=%s", name, value);
    else
        sprintf(out, "--%s", name);
    return 0;
}

int conffile_load(int argc, char **argv, struct conffile *cf, char *err, size_t errlen)
{
    char *raw = NULL, *line, *next, *dst;
    const char *path, *why = "";
    bool expl;
    int nlines = 0, lineno = 0, r;

    memset(cf, 0, sizeof(*cf));
    path = conffile_find(argc, argv, &expl);
    if (path) {
        snprintf(cf->path, sizeof(cf->path), "%s", path);
        r = conffile_read(path, &raw, err, errlen);
        if (r < 0)
            return r;
        for (const char *p = raw; *p; p++)
            nlines += *p == '\n';
        nlines++;
    }
    cf->argv = calloc((size_t)(argc + nlines + 1), sizeof(char *));
    cf->lines = calloc((size_t)nlines + 1, sizeof(int));
    /* Each flag is its line plus "--" and a NUL at most. */
    cf->text = malloc((raw ? strlen(raw) : 0) + 3 * (size_t)nlines + 1);
    if (!cf->argv || !cf->lines || !cf->text) {
        free(raw);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cf->argv[cf->argc++] = argv[0];
    dst = cf->text;
    for (line = raw; line; line = next) {
        char *t;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        t = conffile_trim(line, line + strlen(line));
        if (t[0] == '\0' || t[0] == '#')
            continue;
        r = conffile_line(t, dst, &why);
        if (r < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            free(raw);
            return r;
        }
        cf->lines[cf->nfile++] = lineno;
        cf->argv[cf->argc++] = dst;
        dst += strlen(dst) + 1;
    }
    free(raw);
    for (int i = 1; i < argc; i++)
        cf->argv[cf->argc++] = argv[i];
    cf->argv[cf->argc] = NULL;
    return 0;
}

void conffile_explain(const struct conffile *cf, int idx, char *err, size_t errlen)
{
    char msg[512];

    if (idx < 1 || idx > cf->nfile)
        return;
    snprintf(msg, sizeof(msg), "%s", err);
    snprintf(err, errlen, "%s:%d: %s", cf->path, cf->lines[idx - 1], msg);
}

void conffile_free(struct conffile *cf)
{
    free(cf->argv);
    free(cf->lines);
    free(cf->text);
    memset(cf, 0, sizeof(*cf));
}
