/* produce.h — the sharr CLI's publish, wait and grow commands (produce.c). Each
 * returns the command's exit status.
 */
#ifndef CLI_PRODUCE_H
#define CLI_PRODUCE_H

struct cli;

/* publish NAME: the array becomes complete and immutable (its owner or root). */
int produce_publish(struct cli *cli);
/* wait NAME [--published] [--timeout S]: return once the array exists (is published);
 * exit 1 with ETIMEDOUT after S seconds (default: wait forever). */
int produce_wait(struct cli *cli);
/* grow NAME N: the array's growing axis becomes N long. */
int produce_grow(struct cli *cli);

#endif
