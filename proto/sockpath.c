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

int sockpath_daemon(char *out, size_t len)
{
    const char *v;

    if (out == NULL || len == 0)
        return -ENAMETOOLONG;
    v = sockpath_env("SHARR_SOCKET");
    if (v != NULL)
        return sockpath_printf(out, len, "%s", v);
    v = sockpath_env("XDG_RUNTIME_DIR");
    if (v != NULL)
        return sockpath_printf(out, len, "%s/sharr/sharr.sock", v);
    if (geteuid() == 0)
        return sockpath_printf(out, len, "%s", SOCKPATH_SYSTEM);
    return sockpath_printf(out, len, "/tmp/sharr-%u/sharr.sock", (unsigned)geteuid());
}

int sockpath_client(char *out, size_t len)
{
    char cand[SOCKPATH_SUN_MAX + 1];
    const char *v;

    if (out == NULL || len == 0)
        return -ENAMETOOLONG;
    /* An explicit $SHARR_SOCKET is used even when nothing listens there yet: falling
     * back to another daemon would silently hand out someone else's arrays. */
    v = sockpath_env("SHARR_SOCKET");
    if (v != NULL)
        return sockpath_printf(out, len, "%s", v);
    v = sockpath_env("XDG_RUNTIME_DIR");
    if (v != NULL && sockpath_printf(cand, sizeof(cand), "%s/sharr/sharr.sock", v) == 0 &&
        sockpath_is_socket(cand))
        return sockpath_printf(out, len, "%s", cand);
    if (sockpath_is_socket(SOCKPATH_SYSTEM))
        return sockpath_printf(out, len, "%s", SOCKPATH_SYSTEM);
    if (sockpath_printf(cand, sizeof(cand), "/tmp/sharr-%u/sharr.sock",
                        (unsigned)geteuid()) == 0 && sockpath_is_socket(cand))
        return sockpath_printf(out, len, "%s", cand);
    return sockpath_daemon(out, len);
}
