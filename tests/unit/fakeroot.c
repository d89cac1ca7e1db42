/* fakeroot.c — see fakeroot.h. */
#include "fakeroot.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

int fakeroot_setup(void **state)
{
    char *root = strdup("/tmp/sharr-fakeroot-XXXXXX");

    if (!root || !mkdtemp(root)) {
        free(root);
        return -1;
    }
    *state = root;
    return 0;
}

static int fakeroot_unlink_one(const char *path, const struct stat *st, int flag,
                               struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int fakeroot_teardown(void **state)
{
    char *root = *state;
    int r = nftw(root, fakeroot_unlink_one, 16, FTW_DEPTH | FTW_PHYS);

    free(root);
    return r == 0 ? 0 : -1;
}

void fakeroot_put(const char *root, const char *path, const char *text)
{
    char full[1024];
    snprintf(full, sizeof full, "%s%s", root, path);
    for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        assert_true(mkdir(full, 0755) == 0 || errno == EEXIST);
        *p = '/';
    }
    FILE *f = fopen(full, "we");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}
