/* config.h — what sharrd is told at start: flags, their defaults, and the
 * daemon's policy limits (protocol limits live in proto/limits.h).
 *
 * Parsing only fills a struct config; nothing here opens files or sockets.
 */
#ifndef DAEMON_CONFIG_H
#define DAEMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "hugepages.h"
#include "proto_limits.h"
#include "log.h"
#include "memlimit.h"
#include "policy.h"

#define CONFIG_MAX_CONNECTIONS_DEFAULT 1024
#define CONFIG_OUTPUT_PAUSE (1024u * 1024)       /* queued reply bytes: stop reading requests */
#define CONFIG_WAITERS_MAX 1024                  /* waiting opens per connection */
#define CONFIG_ATTACH_MAX (1u << 20)             /* attachments per connection */

struct config {
    char socket[PROTO_PATH_MAX];  /* listening socket path */
    char store[PROTO_PATH_MAX];   /* directory of persistent arrays */
    enum log_level log_level;
    unsigned max_connections;
    char conffile[PROTO_PATH_MAX]; /* the configuration file read, or "" */
    int argc;                      /* the command line, kept to parse again on SIGHUP */
    char **argv;
    unsigned socket_mode;          /* permission bits of the socket file we bind */
    struct policy policy;          /* resource limits (policy.h) */
    struct memlimit memory;        /* the memory the volatile caps were resolved against */
    enum hugepages_mode huge_pages; /* --huge-pages: pages of large volatile arrays */
};

enum config_action { CONFIG_RUN = 0, CONFIG_HELP = 1, CONFIG_VERSION = 2 };

/* Parse the configuration file (conffile.h) and then argv into *out, so flags
 * override the file, resolving defaults from the environment (the socket from
 * sockpath_daemon(); the store from $SHARR_STORE, /var/lib/sharr for root, else
 * $XDG_DATA_HOME/sharr or ~/.local/share/sharr) and the volatile caps from the
 * memory this process may use (memlimit.h, read now). Returns a config_action, or
 * a negative errno with a message in err. */
int config_parse(int argc, char **argv, struct config *out, char *err, size_t errlen);

/* Print the --help text (with the volatile caps this host's memory gives). */
void config_usage(FILE *f);

#endif
