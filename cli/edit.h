/* edit.h — the commands that make, change, move or remove arrays (edit.c). Each takes
 * one run's state and returns the exit status.
 */
#ifndef SHARR_CLI_EDIT_H
#define SHARR_CLI_EDIT_H

#include "cli.h"

/* create NAME --dtype T --shape A,B,... [options]: a new array. */
int edit_create(struct cli *cli);
/* rm NAME: remove an array's name. */
int edit_rm(struct cli *cli);
/* sync NAME [--owner USER]: a persistent array's data and metadata onto disk. */
int edit_sync(struct cli *cli);
/* import FILE NAME [options]: a new array from a .npy or raw file. */
int edit_import(struct cli *cli);
/* export NAME FILE [--force] [--owner USER]: an array into a .npy file. */
int edit_export(struct cli *cli);
/* chmod MODE NAME: an array's permission bits. */
int edit_chmod(struct cli *cli);
/* chown USER[:GROUP] NAME: an array's owner and/or group. */
int edit_chown(struct cli *cli);

#endif
