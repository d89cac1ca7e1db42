/* edit.h — the commands that make, change, move or remove arrays (edit.c). Each takes
 * one run's state and returns the exit status.
 */
#ifndef SHARR_CLI_EDIT_H
#define SHARR_CLI_EDIT_H

#include "cli.h"

/* create NAME --dtype T --shape A,B,... [options]: a new array. */
int cli_create(struct cli *cli);
/* rm NAME: remove an array's name. */
int cli_rm(struct cli *cli);
/* sync NAME [--owner USER]: a persistent array's data and metadata onto disk. */
int cli_sync(struct cli *cli);
/* import FILE NAME [options]: a new array from a .npy or raw file. */
int cli_import(struct cli *cli);
/* export NAME FILE [--force] [--owner USER]: an array into a .npy file. */
int cli_export(struct cli *cli);
/* chmod MODE NAME: an array's permission bits. */
int cli_chmod(struct cli *cli);
/* chown USER[:GROUP] NAME: an array's owner and/or group. */
int cli_chown(struct cli *cli);

#endif
