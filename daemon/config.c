/* config.c — sharrd's command line and the defaults it falls back to.
 *
 * Flags: --socket PATH, --socket-mode MODE, --store DIR, --log-level LEVEL,
 * --max-connections N, --huge-pages MODE, the limits of policy.h, --config FILE, --help,
 * --version.
 * Defaults need no config file, so a user can just run sharrd.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "sockpath.h"

static int config_default_store(char *out, size_t len)
{
    const char *env = getenv("SHARR_STORE");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (env && env[0])
        n = snprintf(out, len, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(out, len, "/var/lib/sharr");
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, len, "%s/sharr", xdg);
    else if (home)
        n = snprintf(out, len, "%s/.local/share/sharr", home);
    else
        return -ENOENT;
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void config_usage(FILE *f)
{
    struct memlimit ml;

    memlimit_read("", &ml);
    fprintf(f,
            "usage: sharrd [options]\n"
            "Serve named shared N-dimensional arrays to processes on this host.\n\n"
            "  --socket PATH          listen here (default: $SHARR_SOCKET,\n"
            "                         $XDG_RUNTIME_DIR/sharr/sharr.sock, /run/sharr/sharr.sock\n"
            "                         for root, else /tmp/sharr-<uid>/sharr.sock)\n"
            "  --store DIR            directory of persistent arrays (default: $SHARR_STORE,\n"
            "                         /var/lib/sharr for root, else ~/.local/share/sharr);\n"
            "                         it must be this uid's, writable by nobody else\n"
            "  --log-level LEVEL      error, warning, info (default) or debug\n"
            "  --max-connections N    clients served at once, root's included (default %d)\n"
            "  --socket-mode MODE     octal permission bits of the socket file, at least\n"
            "                         0600 (default 0600; 0666 for root, whose daemon\n"
            "                         serves every user and checks each peer itself)\n"
            "  --huge-pages MODE      pages of large volatile arrays: auto (default: the\n"
            "                         hugetlb pool's when it has room, else transparent huge\n"
            "                         pages when shmem_enabled allows them, else 4 KiB),\n"
            "                         hugetlb, thp or never\n"
            "  --config FILE          read flags from FILE first (default:\n"
            "                         %s if it exists; '' reads none):\n"
            "                         'name = value' lines, names as the long flags, '#'\n"
            "                         comments; flags on the command line win\n"
            "  --help                 print this help\n"
            "  --version              print the version\n",
            CONFIG_MAX_CONNECTIONS_DEFAULT, CONFFILE_DEFAULT);
    policy_usage(f, ml.ceiling);
    fprintf(f, "\nSignals: SIGTERM and SIGINT stop cleanly; SIGHUP reads the configuration\n"
               "file and flags again and applies the limits and log level, keeping every\n"
               "client connected (the socket and store change only at a restart).\n"
               "Under systemd: socket activation, READY/STATUS/WATCHDOG/STOPPING\n"
               "notifications and journald priorities; see sharrd(8).\n");
}

static int config_parse_flags(int argc, char **argv, struct config *out, char *err,
                              size_t errlen)
{
    static const struct option options[] = {
        { "socket", required_argument, NULL, 's' },
        { "store", required_argument, NULL, 'd' },
        { "log-level", required_argument, NULL, 'l' },
        { "max-connections", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "config", required_argument, NULL, 'c' }, /* read by conffile_load */
        { "socket-mode", required_argument, NULL, 'M' },
        { "huge-pages", required_argument, NULL, 'P' },
        POLICY_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    char *end, *dst;
    int opt, r;
    unsigned long n;

    memset(out, 0, sizeof(*out));
    out->log_level = LOG_LEVEL_INFO;
    out->max_connections = CONFIG_MAX_CONNECTIONS_DEFAULT;
    out->socket_mode = geteuid() == 0 ? 0666 : 0600;
    policy_defaults(&out->policy);
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's':
        case 'd':
            dst = opt == 's' ? out->socket : out->store;
            if (optarg[0] == '\0' || strlen(optarg) >= PROTO_PATH_MAX) {
                snprintf(err, errlen, "--%s must be 1..%d bytes", opt == 's' ? "socket" : "store",
                         PROTO_PATH_MAX - 1);
                return -EINVAL;
            }
            memcpy(dst, optarg, strlen(optarg) + 1);
            break;
        case 'l':
            if (log_level_parse(optarg, &out->log_level) < 0) {
                snprintf(err, errlen, "--log-level must be error, warning, info or debug");
                return -EINVAL;
            }
            break;
        case 'm':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || n < 1 || n > 1000000) {
                snprintf(err, errlen, "--max-connections must be 1..1000000");
                return -EINVAL;
            }
            out->max_connections = (unsigned)n;
            break;
        case 'h':
            return CONFIG_HELP;
        case 'V':
            return CONFIG_VERSION;
        case 'c':
            break;
        case 'M':
            errno = 0;
            n = strtoul(optarg, &end, 8);
            if (errno || end == optarg || *end || optarg[0] == '-' || n > 0777
                || (n & 0600) != 0600) {
                snprintf(err, errlen, "--socket-mode must be octal permission bits from 0600 "
                         "to 0777 that include 0600");
                return -EINVAL;
            }
            out->socket_mode = (unsigned)n;
            break;
        case 'P':
            if (hugepages_mode_parse(optarg, &out->huge_pages) < 0) {
                snprintf(err, errlen, "--huge-pages must be auto, hugetlb, thp or never");
                return -EINVAL;
            }
            break;
        default:
            r = policy_parse(opt, optarg, &out->policy, err, errlen);
            if (r != 0) {
                if (r < 0)
                    return r;
                break;
            }
            snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)",
                     argv[optind - 1]);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
        return -EINVAL;
    }
    r = policy_derive(&out->policy, out->max_connections, err, errlen);
    if (r < 0) {
        optind = 0; /* two flags disagree: no one line of the file to blame */
        return r;
    }
    if (!out->socket[0] && sockpath_daemon(out->socket, sizeof(out->socket)) < 0) {
        snprintf(err, errlen, "the default socket path is too long; use --socket");
        return -ENAMETOOLONG;
    }
    if (!out->store[0] && config_default_store(out->store, sizeof(out->store)) < 0) {
        snprintf(err, errlen, "cannot find a default store directory; use --store");
        return -ENOENT;
    }
    memlimit_read("", &out->memory);
    policy_resolve(&out->policy, out->memory.ceiling);
    return CONFIG_RUN;
}

int config_parse(int argc, char **argv, struct config *out, char *err, size_t errlen)
{
    struct conffile cf;
    int r;

    r = conffile_load(argc, argv, &cf, err, errlen);
    if (r == 0) {
        r = config_parse_flags(cf.argc, cf.argv, out, err, errlen);
        if (r < 0)
            conffile_explain(&cf, optind - 1, err, errlen);
        snprintf(out->conffile, sizeof(out->conffile), "%s", cf.path);
        out->argc = argc;
        out->argv = argv;
    }
    conffile_free(&cf);
    return r;
}
