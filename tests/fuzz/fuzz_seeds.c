/* fuzz_seeds.c — writes the seed corpus of fuzz_wire and fuzz_daemon: one file per
 * valid request and reply and one whole session, encoded by the codec itself, so the
 * corpus follows the protocol as it changes.
 * Also writes .npy headers (one of a record dtype) and a record's description as the
 * seeds of fuzz_npy.
 * Usage: fuzz_seeds WIRE_DIR NPY_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "dtype.h"
#include "npy.h"

/* A record with what records can hold: nesting, a subarray, padding, a big-endian
 * field, a datetime and a string. */
#define SEEDS_RECORD "[('t', '<M8[ns]'), ('p', [('a', '<i4'), ('b', '|u1', (2, 3))]), " \
                     "('', '|V3'), ('v', '>f8', (2,)), ('s', '|S5')]"

static int seeds_file(const char *dir, const char *name, const void *head, size_t headlen,
                      const void *body, size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL)
        return -errno;
    fwrite(head, 1, headlen, f);
    fwrite(body, 1, len, f);
    return fclose(f) == 0 ? 0 : -errno;
}

static int seeds_write(const char *dir, const char *name, const msgpack_sbuffer *buf)
{
    uint8_t stride = 7; /* fuzz_wire's first byte: feed 8 bytes at a time */

    return seeds_file(dir, name, &stride, 1, buf->data, buf->size);
}

int main(int argc, char **argv)
{
    msgpack_sbuffer b;
    struct codec_hello hello = {.version = PROTO_VERSION};
    struct codec_create create = {
        .name = "seed", .dtype = {.str = "<f4", .itemsize = 4}, .ndim = 2,
        .shape = {100, 10},
        .order = 'C', .perm = 0600};
    /* A 0-d array: numpy's shape (), an empty shape on the wire and in the header. */
    struct codec_create create_0d = {
        .name = "seed0d", .dtype = {.str = "<c16", .itemsize = 16}, .ndim = 0, .order = 'C',
        .perm = 0600};
    const struct meta meta_0d = {.name = "seed0d", .dtype = {.str = "<c16", .itemsize = 16},
                                 .ndim = 0,
                                 .order = 'C', .nbytes = 16, .perm = 0600};
    struct codec_open open = {.name = "seed", .mode = META_MODE_RPLUS, .wait_ms = 100};
    struct codec_open open_owner = {.name = "uid1000.seed", .mode = META_MODE_R,
                                    .has_owner = true, .owner = 1000};
    struct codec_name name = {.name = "seed"};
    struct codec_release release = {.handle = 7};
    struct codec_list list = {.after = "a", .limit = 10};
    struct codec_chmod chmod = {.name = "seed", .perm = 0640};
    struct codec_chown chown = {.name = "seed", .has_uid = true, .uid = 1000, .has_gid = true,
                                .gid = 100};
    struct codec_hello_reply hr = {.version = 1, .server = "sharrd", .pid = 1,
                                   .max_name = 255, .max_ndim = 64};
    struct codec_attach_reply ar = {.handle = 3};
    struct codec_stats_reply sr = {.arrays = 1};
    const struct meta *ms[1] = {&ar.meta};
    int r = 0;

    uint8_t header[NPY_HEADER_LEN];
    static struct codec_create create_rec; /* large: kept off the stack */
    static struct meta meta_rec;

    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_seeds WIRE_DIR NPY_DIR\n");
        return 2;
    }
    strcpy(hello.client, "fuzz");
    create_rec = create;
    strcpy(create_rec.name, "seedrec");
    meta_rec = (struct meta){.name = "seedrec", .ndim = 1, .shape = {5}, .order = 'C',
                             .perm = 0600};
    if (dtype_parse(SEEDS_RECORD, &create_rec.dtype) != 0)
        return 1;
    meta_rec.dtype = create_rec.dtype;
    meta_rec.nbytes = 5 * meta_rec.dtype.itemsize;
    ar.meta = (struct meta){.name = "seed", .dtype = {.str = "<f8", .itemsize = 8}, .ndim = 1,
                            .shape = {10},
                            .order = 'C', .nbytes = 80, .perm = 0600};
#define SEED(file, call)                                  \
    do {                                                  \
        msgpack_sbuffer_init(&b);                         \
        if ((call) != 0 || seeds_write(argv[1], file, &b) != 0) \
            r = 1;                                        \
        msgpack_sbuffer_destroy(&b);                      \
    } while (0)
    SEED("hello", codec_pack_hello(&b, 1, &hello));
    SEED("create", codec_pack_create(&b, 2, &create));
    SEED("create_0d", codec_pack_create(&b, 2, &create_0d));
    SEED("reply_stat_0d", codec_pack_reply_stat(&b, 3, &meta_0d));
    SEED("create_record", codec_pack_create(&b, 2, &create_rec));
    SEED("reply_stat_record", codec_pack_reply_stat(&b, 3, &meta_rec));
    SEED("open", codec_pack_open(&b, 3, &open));
    SEED("open_owner", codec_pack_open(&b, 3, &open_owner));
    SEED("stat", codec_pack_name(&b, 4, "stat", &name));
    SEED("unlink", codec_pack_name(&b, 5, "unlink", &name));
    SEED("sync", codec_pack_name(&b, 6, "sync", &name));
    SEED("release", codec_pack_release(&b, 7, &release));
    SEED("list", codec_pack_list(&b, 8, &list));
    SEED("stats", codec_pack_stats(&b, 9));
    SEED("chmod", codec_pack_chmod(&b, 10, &chmod));
    SEED("chown", codec_pack_chown(&b, 11, &chown));
    SEED("ring", codec_pack_ring(&b, 12));
    SEED("reply_hello", codec_pack_reply_hello(&b, 1, &hr));
    SEED("reply_attach", codec_pack_reply_attach(&b, 2, &ar));
    SEED("reply_stat", codec_pack_reply_stat(&b, 3, &ar.meta));
    SEED("reply_list", codec_pack_reply_list(&b, 4, ms, 1, true, true));
    SEED("reply_list_maps", codec_pack_reply_list(&b, 4, ms, 1, true, false));
    SEED("reply_stats", codec_pack_reply_stats(&b, 5, &sr));
    SEED("reply_error", codec_pack_error(&b, 6, -ENOENT, "no such array"));
    SEED("reply_ring", codec_pack_reply_ring(&b, 7, 4096));
    /* A whole session in one stream: what fuzz_daemon's sequences start from. */
    msgpack_sbuffer_init(&b);
    create.persist = true;
    if (codec_pack_hello(&b, 0, &hello) != 0 || codec_pack_create(&b, 1, &create) != 0
        || codec_pack_open(&b, 2, &open) != 0 || codec_pack_open(&b, 12, &open_owner) != 0
        || codec_pack_name(&b, 3, "stat", &name) != 0
        || codec_pack_list(&b, 4, &list) != 0 || codec_pack_chmod(&b, 5, &chmod) != 0
        || codec_pack_chown(&b, 6, &chown) != 0 || codec_pack_ring(&b, 11) != 0
        || codec_pack_release(&b, 7, &release) != 0
        || codec_pack_name(&b, 8, "sync", &name) != 0
        || codec_pack_name(&b, 9, "unlink", &name) != 0 || codec_pack_stats(&b, 10) != 0
        || seeds_write(argv[1], "session", &b) != 0)
        r = 1;
    msgpack_sbuffer_destroy(&b);
#undef SEED
    if (npy_header_format(&ar.meta, header) != 0 ||
        seeds_file(argv[2], "f8_10", header, sizeof(header), "", 0) != 0)
        r = 1;
    if (npy_header_format(&meta_0d, header) != 0 ||
        seeds_file(argv[2], "c16_0d", header, sizeof(header), "", 0) != 0)
        r = 1;
    if (npy_header_format(&meta_rec, header) != 0 ||
        seeds_file(argv[2], "record_5", header, sizeof(header), "", 0) != 0 ||
        seeds_file(argv[2], "record_descr", SEEDS_RECORD, strlen(SEEDS_RECORD), "", 0) != 0)
        r = 1;
    return r;
}
