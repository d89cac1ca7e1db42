/* consumer.c — a program built against the installed libsharr: creates an array on
 * the daemon named by argv[1] (with options sized by the header's initialiser),
 * writes it, attaches it again read-only by name alone and checks what it reads, and
 * that the library it runs with is the version its header says. Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <sharr.h>

int main(int argc, char **argv)
{
    sharr_t *c = NULL;
    sharr_array_t *w = NULL, *r = NULL;
    uint64_t shape[2] = {3, 4};
    const struct sharr_info *info;
    struct sharr_create_opts opts = SHARR_CREATE_OPTS_INIT;
    char version[32];
    const double *in;
    double *out;
    int rc = 1, err;

    if (argc != 3) {
        fprintf(stderr, "usage: consumer SOCKET NAME\n");
        return 2;
    }
    snprintf(version, sizeof version, "%d.%d.%d", SHARR_VERSION_MAJOR, SHARR_VERSION_MINOR,
             SHARR_VERSION_PATCH);
    if (strcmp(sharr_version(), version) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n", version, sharr_version());
        return 1;
    }
    opts.perm = 0640;
    if ((err = sharr_connect(argv[1], &c)) < 0 ||
        (err = sharr_create(c, argv[2], "float64", 2, shape, &opts, &w)) < 0 ||
        (err = sharr_open(c, argv[2], "r", NULL, &r)) < 0) {
        fprintf(stderr, "consumer: %s (%s)\n", sharr_last_error(), sharr_err_name(err));
        goto out;
    }
    out = sharr_array_data(w);
    for (int i = 0; i < 12; i++)
        out[i] = i * 0.5;
    info = sharr_array_info(r);
    in = sharr_array_data(r);
    if (strcmp(info->dtype, "<f8") != 0 || info->ndim != 2 || info->shape[1] != 4 ||
        info->perm != 0640 || in[11] != 5.5) {
        fprintf(stderr, "consumer: read back %s ndim %d [11]=%g\n", info->dtype,
                info->ndim, in[11]);
        goto out;
    }
    rc = 0;
out:
    sharr_close(r);
    sharr_close(w);
    sharr_disconnect(c);
    return rc;
}
