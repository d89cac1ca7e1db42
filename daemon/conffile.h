/* conffile.h — sharrd's optional configuration file, /etc/sharr/sharrd.conf or
 * --config PATH: one "name = value" per line with the names of the long flags
 * (max-connections = 64), a bare name for a flag without a value, '#' comments.
 *
 * The file is turned into flags placed before the command line's, so one parser
 * (config.c) reads both and the command line wins. Nothing here knows any flag.
 */
#ifndef DAEMON_CONFFILE_H
#define DAEMON_CONFFILE_H

#include <stddef.h>

#define CONFFILE_DEFAULT "/etc/sharr/sharrd.conf"
#define CONFFILE_SIZE_MAX (64 * 1024)  /* bytes of a configuration file */

/* argv with the file's flags spliced in after argv[0]. */
struct conffile {
    int argc;
    char **argv;         /* argc entries and a NULL; entries 1..nfile from the file */
    int nfile;           /* flags that came from the file */
    int *lines;          /* lines[i]: the file line of argv[1 + i] */
    char *text;          /* the flags' storage */
    char path[1024];     /* the file read, or "" when none */
};

/* Find the file (the last --config PATH or --config=PATH in argv; else
 * CONFFILE_DEFAULT if it exists; --config "" reads none), read it and build cf.
 * Returns 0, or a negative errno with "file:line: why" in err. Free cf with
 * conffile_free either way. */
int conffile_load(int argc, char **argv, struct conffile *cf, char *err, size_t errlen);

/* Prefix err with "path:line: " when the flag at index idx of cf->argv came from
 * the file. */
void conffile_explain(const struct conffile *cf, int idx, char *err, size_t errlen);

void conffile_free(struct conffile *cf);

#endif
