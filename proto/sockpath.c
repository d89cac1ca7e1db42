/* sockpath.c — the default location of the sharrd socket.
 *
 * The daemon and clients resolve the same candidate list, so a user's own daemon
 * (in $XDG_RUNTIME_DIR) wins over the system one. Only environment, string and
 * stat work here: nothing is created and nothing connects.
 */
#include "sockpath.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKPATH_SYSTEM "/run/sharr/sharr.sock"

/* Longest path a sockaddr_un can hold, without its NUL. */
#define SOCKPATH_SUN_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static const char *sockpath_env(const char *var)
{
    const char *v = getenv(var);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int sockpath_printf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format into out; -ENAMETOOLONG if it does not fit out or a socket address. */
static int sockpath_printf(char *out, size_t len, const char *fmt, ...)
{
    char tmp[SOCKPATH_SUN_MAX + 2];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > SOCKPATH_SUN_MAX || (size_t)n >= len)
        return -ENAMETOOLONG;
    snprintf(out, len, "%s", tmp);
    return 0;
}

static bool sockpath_is_socket(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The candidates after $SHARR_SOCKET, in the order both ends try them. */
enum sockpath_where { SOCKPATH_RUNTIME, SOCKPATH_SYSTEM_DIR, SOCKPATH_TMP, SOCKPATH_NWHERE };

/* Candidate k into out: 0, -ENOENT when it does not apply (no $XDG_RUNTIME_DIR), or
 * -ENAMETOOLONG. */
static int sockpath_candidate(enum sockpath_where k, char *out, size_t len)
{
    const char *v;

    switch (k) {
    case SOCKPATH_RUNTIME:
        v = sockpath_env("XDG_RUNTIME_DIR");
        return v != NULL ? sockpath_printf(out, len, "%s/sharr/sharr.sock", v) : -ENOENT;
    case SOCKPATH_SYSTEM_DIR:
        return sockpath_printf(out, len, "%s", SOCKPATH_SYSTEM);
    default:
        return sockpath_printf(out, len, "/tmp/sharr-%u/sharr.sock", (unsigned)geteuid());
    }
}

/* The one resolver: $SHARR_SOCKET when set; for a client, the first candidate whose
 * socket exists; else the first candidate that applies to a daemon of this euid (the
 * system one to root alone). */
static int sockpath_resolve(bool client, char *out, size_t len)
{
    char cand[SOCKPATH_SUN_MAX + 1];
    const char *v;
    int r;

    if (out == NULL || len == 0)
        return -ENAMETOOLONG;
    /* An explicit $SHARR_SOCKET is used even when nothing listens there yet: falling
     * back to another daemon would silently hand out someone else's arrays. */
    v = sockpath_env("SHARR_SOCKET");
    if (v != NULL)
        return sockpath_printf(out, len, "%s", v);
    for (int k = 0; client && k < SOCKPATH_NWHERE; k++) {
        if (sockpath_candidate(k, cand, sizeof(cand)) == 0 && sockpath_is_socket(cand))
            return sockpath_printf(out, len, "%s", cand);
    }
    for (int k = 0; k < SOCKPATH_NWHERE; k++) {
        if (k == SOCKPATH_SYSTEM_DIR && geteuid() != 0)
            continue;
        r = sockpath_candidate(k, out, len);
        if (r != -ENOENT)
            return r;
    }
    return -ENOENT; /* not reached: the last candidate always applies */
}

int sockpath_daemon(char *out, size_t len)
{
    return sockpath_resolve(false, out, len);
}

int sockpath_client(char *out, size_t len)
{
    return sockpath_resolve(true, out, len);
}
