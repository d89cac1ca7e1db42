/* error.c — how libsharr tells the user what went wrong: negative errno values and
 * a message per thread, read like errno through sharr_last_error().
 *
 * The message buffer is the library's only thread-local state; nothing else here
 * keeps state. The library never prints: the caller decides what to show.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

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
