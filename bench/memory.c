/* memory.c — bench_memory: what eight processes that attach one array and touch all
 * of it cost in memory, against the array's size and against eight copies.
 *
 * PSS (proportional set size, /proc/PID/smaps_rollup) charges each shared page to
 * its mappers in equal parts, so the PSS of all mappers adds up to the memory they
 * really use. The daemon never maps array data, so it adds nothing here. Page
 * tables are not in PSS and are reported beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proc.h"
#include "report.h"

#define MEM_NAME "bench.memory"
#define MEM_PROCS 8

struct mem_run {
    uint64_t bytes;
};

/* A member: connect (step: baseline), attach and read one byte of every page (step:
 * measured), then let go. The attach populates the mapping (SHARR_F_POPULATE):
 * page-by-page first touches of 16 GiB of mappings take minutes on a VM, and the
 * pages charged are the same either way. */
static int mem_member(struct proc_team *t, int i, void *arg)
{
    const struct mem_run *run = arg;
    sharr_t *conn;
    sharr_array_t *a;
    const volatile unsigned char *p;
    unsigned sum = 0;

    if (sharr_connect(NULL, &conn) < 0 || proc_member_step(t, i) < 0)
        return 1;
    struct sharr_open_opts oo = { .size = sizeof(oo), .flags = SHARR_F_POPULATE };
    if (sharr_open(conn, MEM_NAME, "r+", &oo, &a) < 0) {
        fprintf(stderr, "bench_memory: open: %s\n", sharr_last_error());
        return 1;
    }
    p = sharr_array_data(a);
    for (uint64_t off = 0; off < run->bytes; off += 4096)
        sum += p[off];
    if (sum != 0 || proc_member_step(t, i) < 0)
        return 1;
    sharr_close(a);
    sharr_disconnect(conn);
    return 0;
}

struct mem_totals {
    int64_t pss, pss_shmem, rss, pte;
};

static int mem_measure(const struct proc_team *t, struct mem_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < t->n; i++) {
        int64_t pss = proc_kib(t->pids[i], "smaps_rollup", "Pss");
        int64_t shm = proc_kib(t->pids[i], "smaps_rollup", "Pss_Shmem");
        int64_t rss = proc_kib(t->pids[i], "smaps_rollup", "Rss");
        int64_t pte = proc_kib(t->pids[i], "status", "VmPTE");

        if (pss < 0 || rss < 0)
            return -1;
        out->pss += pss;
        out->pss_shmem += shm > 0 ? shm : 0;
        out->rss += rss;
        out->pte += pte > 0 ? pte : 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct harness h;
    struct proc_team team;
    struct mem_run run;
    struct mem_totals before, after;
    char sz[32], load[64], measured[160];
    sharr_array_t *a;

    harness_init(&h, argc, argv);
    run.bytes = h.quick ? (64ull << 20) : (2ull << 30);
    struct sharr_create_opts co = { .size = sizeof(co), .overwrite = 1, .flags = SHARR_F_NOMAP };
    harness_check(&h, sharr_create(h.conn, MEM_NAME, "|u1", 1, &run.bytes, &co, &a),
                  "create " MEM_NAME);
    sharr_close(a);
    int64_t daemon_rss0 = proc_kib(h.daemon_pid, "status", "VmRSS");

    if (proc_team_start(&team, MEM_PROCS, -1, mem_member, &run) < 0 ||
        proc_team_await(&team) < 0 || mem_measure(&team, &before) < 0) {
        fprintf(stderr, "bench_memory: members failed to start\n");
        return 1;
    }
    proc_team_release(&team);
    if (proc_team_await(&team) < 0 || mem_measure(&team, &after) < 0) {
        fprintf(stderr, "bench_memory: members failed to attach\n");
        proc_team_join(&team);
        return 1;
    }
    int64_t daemon_rss1 = proc_kib(h.daemon_pid, "status", "VmRSS");
    proc_team_release(&team);
    if (proc_team_join(&team) != 0)
        fprintf(stderr, "bench_memory: a member failed on the way out\n");
    harness_check(&h, sharr_unlink(h.conn, MEM_NAME), "unlink " MEM_NAME);

    double mib = (double)run.bytes / 1048576.0;
    report_title("Memory: %d processes share one %s array (bench_memory)", MEM_PROCS,
                 report_size(run.bytes, sz, sizeof(sz)));
    report_text("Each process connects, attaches the volatile array r+ with "
                "SHARR_F_POPULATE and reads one byte of every 4 KiB page; PSS, Pss_Shmem and Rss from /proc/PID/smaps_rollup, "
                "page tables from VmPTE in /proc/PID/status, summed over the %d processes. "
                "Load average at end: %s.", MEM_PROCS, proc_loadavg(load, sizeof(load)));
    report_columns("quantity (sum over the processes)", "MiB", "/ array size", NULL);
    report_row("array size | %.0f | 1.00", mib);
    report_row("PSS before attaching (library, libc, stack) | %.1f | %.3f",
               (double)before.pss / 1024, (double)before.pss / 1024 / mib);
    report_row("PSS after attaching and touching every page | %.1f | %.3f",
               (double)after.pss / 1024, (double)after.pss / 1024 / mib);
    report_row("of which Pss_Shmem (the array) | %.1f | %.3f", (double)after.pss_shmem / 1024,
               (double)after.pss_shmem / 1024 / mib);
    report_row("Rss after (each process counts every page it maps) | %.0f | %.2f",
               (double)after.rss / 1024, (double)after.rss / 1024 / mib);
    report_row("page tables after (VmPTE; not in PSS) | %.1f | %.3f",
               (double)after.pte / 1024, (double)after.pte / 1024 / mib);
    report_row("sharrd VmRSS change while attached | %.1f | %.4f",
               (double)(daemon_rss1 - daemon_rss0) / 1024,
               (double)(daemon_rss1 - daemon_rss0) / 1024 / mib);
    report_row("passing copies instead (computed: %d x size) | %.0f | %.2f", MEM_PROCS,
               mib * MEM_PROCS, (double)MEM_PROCS);
    report_end();
    double ratio = (double)after.pss / 1024 / mib;
    snprintf(measured, sizeof(measured), "%.3fx (%.0f MiB for %.0f MiB; copies: %.0f MiB)",
             ratio, (double)after.pss / 1024, mib, mib * MEM_PROCS);
    report_target("total PSS of 8 attached processes <= 1.05x the array", measured,
                  ratio <= 1.05, ratio <= 1.05 ? NULL :
                  "process overhead outside the array is large next to the array");
    report_end();
    harness_close(&h);
    return 0;
}
