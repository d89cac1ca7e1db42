/* release.c — how libsharr tells sharrd that an attachment is gone. When the daemon
 * offers "release_ring", the handle is posted in the connection's release ring
 * (proto/ring.h): a store to shared memory, no system call, no wake-up of the daemon,
 * which reads the ring before the connection's next request, before any answer that
 * counts attachments, and within about a second otherwise. The ring is set up by the
 * first release on each connection. A full ring, or a daemon without rings, gets the
 * release as a notification (or, from a daemon that takes neither, a request).
 */
#include <errno.h>
#include <sys/mman.h>

#include "client.h"
#include "codec.h"
#include "ring.h"

static int release_pack(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_release(out, msgid, params);
}

static int release_pack_notify(msgpack_sbuffer *out, const void *params)
{
    return codec_pack_release_notify(out, params);
}

static int release_pack_ring(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    (void)params;
    return codec_pack_ring(out, msgid);
}

/* Ask for generation gen's ring and map it; a connection without one (any failure
 * but EEXIST, which says another thread's request made it) is marked so that its
 * releases go as messages without asking again. */
static void release_ring_setup(sharr_t *conn, uint64_t gen)
{
    void *map;

    if (client_call_page(conn, release_pack_ring, gen, RING_BYTES, PROT_READ | PROT_WRITE,
                         &map) == -EEXIST)
        return;
    client_ring_set(conn, gen, map);
}

int release_attachment(sharr_t *conn, uint64_t gen, uint64_t handle)
{
    struct codec_release p = { .handle = handle };
    struct client_request req = {
        .pack = release_pack, .params = &p, .only_gen = gen,
        .pack_notify = release_pack_notify,
    };
    int r = client_ring_post(conn, gen, handle);

    if (r == 1) {
        release_ring_setup(conn, gen);
        r = client_ring_post(conn, gen, handle);
    }
    if (r == 0)
        return 0;
    return client_call(conn, &req, NULL);
}
