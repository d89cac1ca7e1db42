/* watch.h — `sharr watch [PREFIX] [--json]`: one line per event on the arrays under
 * PREFIX that the user may see, until sharrd goes away or the command is killed.
 */
#ifndef CLI_WATCH_H
#define CLI_WATCH_H

#include "cli.h"

/* The watch command; returns its exit status (1 once sharrd closes the watch). */
int watch_run(struct cli *cli);

#endif
