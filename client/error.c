/* error.c — how libsharr tells the user what went wrong: negative errno values and
 * a message per thread, read like errno through sharr_last_error(); and the check of
 * an array name that every call taking one makes before asking the daemon.
 *
 * The message buffer is the library's only thread-local state; nothing else here
 * keeps state. The library never prints: the caller decides what to show.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "errcode.h"
#include "proto_limits.h"
#include "name.h"

#define ERROR_MESSAGE_MAX 512

static _Thread_local char error_message[ERROR_MESSAGE_MAX];

int client_fail(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(error_message, sizeof(error_message), fmt, ap);
    va_end(ap);
    return err;
}

int client_fail_text(int err, const char *msg)
{
    size_t n = strnlen(msg, sizeof(error_message) - 1);

    memcpy(error_message, msg, n);
    error_message[n] = '\0';
    return err;
}

int client_check_name(const char *name)
{
    int rc;

    if (name == NULL)
        return client_fail(-EINVAL, "the array name is NULL");
    rc = name_check(name, strlen(name));
    if (rc == -ENAMETOOLONG)
        return client_fail(rc, "array name is longer than %d bytes", PROTO_NAME_MAX);
    if (rc < 0)
        return client_fail(rc, "invalid array name '%s': use 1..%d bytes of "
                           "[A-Za-z0-9._-], not starting with '.'", name, PROTO_NAME_MAX);
    return 0;
}

int client_copy_name(const char *name, char out[PROTO_NAME_MAX + 1])
{
    int rc;

    if (name == NULL || name[0] == '\0')
        return 0;
    rc = client_check_name(name);
    if (rc == 0)
        memcpy(out, name, strlen(name) + 1);
    return rc;
}

const char *sharr_last_error(void)
{
    return error_message;
}

/* strerrordesc_np returns static strings (strerror may use a per-call buffer for
 * unknown values), so the result stays valid forever as sharr.h promises. */
const char *sharr_strerror(int err)
{
    const char *s;

    if (err == 0)
        return "success";
    s = strerrordesc_np(err < 0 ? -err : err);
    return s != NULL ? s : "unknown error";
}

const char *sharr_err_name(int err)
{
    return err == 0 ? "OK" : errcode_name(err);
}
