/* test_kills.c — sharrd SIGKILLed at random moments while three clients of three
 * uids (root and two unprivileged ones) run every persistent operation: create,
 * overwrite, chmod, chown, unlink, adopt (root's: sharrd adopts only its own uid's
 * files), sync, fills of the data, grow and publish. After each restart every name
 * holds what its acknowledged operations made, or that plus the one operation in
 * flight; never old data with new metadata; nothing vanished; the store holds no
 * leftover and nothing damaged (STORE.md).
 *
 * The operations come from a seeded generator ($SHARR_KILLS_SEED, printed), which
 * also asks for what the daemon must refuse (a fill or grow of a published array, a
 * grow of an adopted one or to a shorter length): every reply is the one the model
 * predicts (model_expect), so a wrong refusal or a wrong acceptance fails. Each
 * client reports each operation before it sends it and once it is answered, and the
 * kill lands after a random number of reports plus a random pause, so it falls
 * anywhere inside an operation; the kills in flight are counted per operation, and
 * an operation no kill landed in fails the test.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "model.h"
#include "testskip.h"

#define U1 61001u
#define U2 61002u
#define WORKERS 3
#define NAMES 4      /* per worker */
#define BATCH 24     /* operations per worker per round */
#define ROUNDS 200   /* scaled by $SHARR_FAULTS_SCALE ... */
#define ROUNDS_MIN 120 /* ... but never below this: with the 119 kills of
                        * test_recovery_killed_operations, over 200 in every build */
#define SEED_DEFAULT 20240612u

static const uint32_t uids[WORKERS] = { 0, U1, U2 };
static const uint32_t perms[] = { 0600, 0640, 0644, 0660, 0604, 0606 };
static const uint32_t gids[] = { 0, U1, U2, 61234 };

struct report {
    char tag;     /* 'R' ready, 'B' before op idx, 'A' acknowledged, 'F' failed, 'D' done */
    int32_t idx;
    int32_t rc;
    int64_t t_ns; /* CLOCK_MONOTONIC, the same clock in every process */
};

struct worker {
    uint32_t uid;
    struct model_op ops[BATCH];
    struct model_state state[NAMES]; /* as acknowledged so far */
    int began, acked, failed_rc;     /* last 'B' and 'A' index (-1: none) */
    int done;
};

static struct harness *g_h;
static uint64_t g_rng;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t pick(const uint32_t *v, size_t n)
{
    return v[rnd() % n];
}

static int name_index(const char *name)
{
    return name[3] - '0';
}

/* The next operation of worker w on one of its names, given their states. */
static void next_op(struct worker *w, int wi, struct model_state *sim, uint64_t *gen,
                    struct model_op *op)
{
    int j = (int)(rnd() % NAMES);
    struct model_state *s = &sim[j];
    int root = w->uid == 0;
    uint64_t r = rnd() % 100;

    memset(op, 0, sizeof(*op));
    snprintf(op->name, sizeof(op->name), "k%d_%d", wi, j);
    if (!s->exists)
        op->kind = root && r < 30 ? MODEL_ADOPT : r < 65 ? MODEL_CREATE : MODEL_OVERWRITE;
    else if (r < 16)
        op->kind = MODEL_OVERWRITE;
    else if (r < 28)
        op->kind = MODEL_CHMOD;
    else if (r < 40)
        op->kind = MODEL_CHOWN;
    else if (r < 48)
        op->kind = MODEL_UNLINK;
    else if (r < 56)
        op->kind = MODEL_SYNC;
    else if (r < 72)
        op->kind = MODEL_GROW;
    else if (r < 80)
        op->kind = MODEL_PUBLISH;
    else if (r < 92 || !root)
        op->kind = MODEL_FILL;
    else
        op->kind = MODEL_ADOPT;
    /* A new data file gets a count no file of this name had just before. */
    do {
        op->n = 1 + (*gen)++ % 3000;
    } while (op->n == s->n);
    /* A grow lengthens by up to 1000 elements; now and then it asks for a shorter
     * length (refused) or the same (a success that changes nothing). */
    if (op->kind == MODEL_GROW) {
        uint64_t g = rnd() % 20;
        op->n = g == 0 && s->n > 1 ? 1 + rnd() % (s->n - 1)
                : g == 1 ? s->n : s->n + 1 + rnd() % 1000;
    }
    op->seed = 1 + (*gen)++;
    op->perm = pick(perms, sizeof(perms) / sizeof(perms[0]));
    op->uid = root ? pick(uids, WORKERS) : SHARR_ID_KEEP;
    op->gid = pick(gids, sizeof(gids) / sizeof(gids[0]));
    snprintf(op->path, sizeof(op->path), "%s/adoptee-%d-%" PRIu64 ".npy", g_h->dir, wi, op->seed);
    op->expect = model_expect(s, op);
    *s = model_apply(s, op, w->uid, w->uid);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_report(int wfd, char tag, int idx, int rc)
{
    struct report r = { tag, idx, rc, now_ns() };
    CHILD_CHECK(chan_put(wfd, &r, sizeof(r)) == 0);
}

/* A client: drop to its uid, connect, say ready, wait for go, run the batch. */
static int worker_main(int rfd, int wfd, void *arg)
{
    const struct worker *w = arg;
    sharr_t *c = NULL;
    char go;

    if (w->uid != 0) {
        CHILD_CHECK(setgroups(0, NULL) == 0 && setgid(w->uid) == 0 && setuid(w->uid) == 0);
        prctl(PR_SET_DUMPABLE, 1);
    }
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    put_report(wfd, 'R', -1, 0);
    CHILD_CHECK(chan_get(rfd, &go, 1) == 0);
    for (int i = 0; i < BATCH; i++) {
        put_report(wfd, 'B', i, 0);
        int rc = model_do(c, &w->ops[i]);
        if (rc != w->ops[i].expect) {
            put_report(wfd, 'F', i, rc);
            break;
        }
        put_report(wfd, 'A', i, rc);
    }
    put_report(wfd, 'D', -1, 0);
    /* Wait to be killed, holding nothing the parent needs. */
    while (chan_get(rfd, &go, 1) == 0)
        ;
    return 0;
}

static void take(struct worker *w, const struct report *r, int64_t killed_at, int round)
{
    switch (r->tag) {
    case 'B':
        w->began = r->idx;
        break;
    case 'A':
        w->acked = r->idx;
        break;
    case 'F':
        w->failed_rc = r->rc;
        /* Before the kill every reply is the model's: success for what is valid in
         * the state the operation was generated from, the model's error otherwise. */
        if (killed_at == 0 || r->t_ns < killed_at) {
            const struct model_op *op = &w->ops[r->idx];
            fail_msg("round %d: uid %u: %s %s (%" PRIu64 ") answered %s before the kill; the "
                     "model expects %s", round, (unsigned)w->uid, model_kind_name(op->kind),
                     op->name, op->n, r->rc == 0 ? "success" : sharr_strerror(r->rc),
                     op->expect == 0 ? "success" : sharr_strerror(op->expect));
        }
        break;
    case 'D':
        w->done = 1;
        break;
    default:
        break;
    }
}

/* Read what is queued on the workers' pipes within timeout_ms; returns the number of
 * 'B' reports seen in total so far. */
static int pump(struct harness_child *ch, struct worker *w, int timeout_ms, int64_t killed_at,
                int round, int *total_b)
{
    struct pollfd p[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        p[i] = (struct pollfd){ ch[i].from, POLLIN, 0 };
    if (poll(p, WORKERS, timeout_ms) <= 0)
        return *total_b;
    for (int i = 0; i < WORKERS; i++) {
        if (!(p[i].revents & POLLIN))
            continue;
        struct report r;
        if (chan_get(ch[i].from, &r, sizeof(r)) == 0) {
            *total_b += r.tag == 'B';
            take(&w[i], &r, killed_at, round);
        }
    }
    return *total_b;
}

static void drain(struct harness_child *ch, struct worker *w, int64_t killed_at, int round)
{
    for (int i = 0; i < WORKERS; i++) {
        struct report r;
        while (chan_get(ch[i].from, &r, sizeof(r)) == 0)
            take(&w[i], &r, killed_at, round);
    }
}

static void test_random_kills_leave_every_operation_whole_or_undone(void **state)
{
    struct harness *h = *state;
    static struct worker w[WORKERS];
    const char *env = getenv("SHARR_KILLS_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : SEED_DEFAULT, gen = 1;
    int rounds = (int)(ROUNDS * fault_scale()), inflight = 0, kinds[MODEL_KINDS] = { 0 };
    int acked = 0, refused = 0, done_in_flight = 0, refused_in_flight = 0;
    int killed_in[MODEL_KINDS] = { 0 }; /* kills with an operation of that kind in flight */

    if (rounds < ROUNDS_MIN)
        rounds = ROUNDS_MIN;
    g_rng = seed;
    print_message("seed %" PRIu64 " (set SHARR_KILLS_SEED to repeat), %d rounds\n", seed, rounds);
    g_h = h;
    asuser_open_dir(h);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < WORKERS; i++)
        w[i].uid = uids[i];

    for (int round = 0; round < rounds; round++) {
        struct harness_child ch[WORKERS];
        int total_b = 0;

        for (int i = 0; i < WORKERS; i++) {
            struct model_state sim[NAMES];
            memcpy(sim, w[i].state, sizeof(sim));
            for (int k = 0; k < BATCH; k++)
                next_op(&w[i], i, sim, &gen, &w[i].ops[k]);
            w[i].began = w[i].acked = -1;
            w[i].failed_rc = 0;
            w[i].done = 0;
            harness_child_start(h, &ch[i], worker_main, &w[i]);
        }
        for (int i = 0; i < WORKERS; i++) {
            struct report r;
            harness_get(ch[i].from, &r, sizeof(r));
            assert_int_equal(r.tag, 'R');
        }
        int target = (int)(rnd() % (WORKERS * BATCH));
        long pause_us = (long)(rnd() % 2000);
        for (int i = 0; i < WORKERS; i++)
            harness_put(ch[i].to, "G", 1);
        for (int spins = 0; total_b < target && spins < 20000; spins++) {
            pump(ch, w, 5, 0, round, &total_b);
            if (w[0].done && w[1].done && w[2].done)
                break;
        }
        struct timespec ts = { 0, pause_us * 1000 };
        nanosleep(&ts, NULL);
        int64_t killed_at = now_ns();
        fault_daemon_kill(h);
        for (int i = 0; i < WORKERS; i++)
            kill(ch[i].pid, SIGKILL);
        drain(ch, w, killed_at, round);
        for (int i = 0; i < WORKERS; i++)
            harness_child_wait(h, &ch[i]);

        /* What each name may hold now: its acknowledged state, or with the operation
         * in flight applied too. */
        fault_daemon_start(h, NULL, NULL);
        sharr_t *c = harness_connect(h);
        int narrays = 0;
        for (int i = 0; i < WORKERS; i++) {
            const struct model_op *fly = NULL;
            for (int k = 0; k <= w[i].acked; k++) {
                const struct model_op *op = &w[i].ops[k];
                struct model_state *s = &w[i].state[name_index(op->name)];
                *s = model_apply(s, op, w[i].uid, w[i].uid);
                kinds[op->kind]++;
                acked++;
                refused += op->expect != 0;
            }
            if (w[i].began > w[i].acked) {
                fly = &w[i].ops[w[i].began];
                inflight++;
                /* A refusal in flight is no kill inside the operation. */
                if (fly->expect == 0)
                    killed_in[fly->kind]++;
                else
                    refused_in_flight++;
            }
            for (int j = 0; j < NAMES; j++) {
                struct model_state ok[2] = { w[i].state[j] };
                int nok = 1;
                char name[MODEL_NAME_MAX], why[256];
                snprintf(name, sizeof(name), "k%d_%d", i, j);
                if (fly && strcmp(fly->name, name) == 0) {
                    ok[1] = model_apply(&ok[0], fly, w[i].uid, w[i].uid);
                    /* A fill cut short leaves any bytes. */
                    if (fly->kind == MODEL_FILL && fly->expect == 0)
                        ok[1].seed = MODEL_SEED_ANY;
                    nok = 2;
                }
                int m = model_match(c, name, ok, nok, why, sizeof(why));
                if (m < 0) {
                    char a[160], b[160] = "";
                    model_describe(&ok[0], a, sizeof(a));
                    if (nok == 2)
                        model_describe(&ok[1], b, sizeof(b));
                    print_error("seed %" PRIu64 " round %d: %s (uid %u) is %s; want %s%s%s "
                                "(in flight: %s)\n", seed, round, name, (unsigned)w[i].uid, why,
                                a, nok == 2 ? " or " : "", b,
                                fly ? model_kind_name(fly->kind) : "nothing");
                    fail();
                }
                w[i].state[j] = ok[m];
                narrays += ok[m].exists;
                done_in_flight += m == 1 && fly->kind != MODEL_SYNC;
            }
            if (fly && fly->kind == MODEL_ADOPT)
                unlink(fly->path); /* the client's path, if the adopt did not remove it */
        }
        struct sharr_stats st = harness_stats(c);
        sharr_disconnect(c);
        assert_int_equal(st.arrays_damaged, 0);
        assert_int_equal(st.arrays_persistent, narrays);
        char files[4096];
        if (model_store_clean(h, narrays, files, sizeof(files)) < 0) {
            print_error("seed %" PRIu64 " round %d: the store holds %s; want %d arrays and "
                        "nothing else\n", seed, round, files, narrays);
            fail();
        }
    }
    char acks[512], kills[512];
    size_t na = 0, nk = 0;
    for (int k = 0; k < MODEL_KINDS; k++) {
        na += (size_t)snprintf(acks + na, sizeof(acks) - na, "%s%s %d", k ? ", " : "",
                               model_kind_name((enum model_kind)k), kinds[k]);
        nk += (size_t)snprintf(kills + nk, sizeof(kills) - nk, "%s%s %d", k ? ", " : "",
                               model_kind_name((enum model_kind)k), killed_in[k]);
    }
    print_message("%d kills; %d operations answered as the model predicts (%s), %d of them "
                  "refusals; %d in flight at a kill (%s; %d refusals), %d of them found done\n",
                  rounds, acked, acks, refused, inflight, kills, refused_in_flight,
                  done_in_flight);
    for (int k = 0; k < MODEL_KINDS; k++)
        if (killed_in[k] == 0)
            fail_msg("seed %" PRIu64 ": no kill landed while a %s was in flight in %d rounds: "
                     "the random kills do not cover it", seed,
                     model_kind_name((enum model_kind)k), rounds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_kills_leave_every_operation_whole_or_undone,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
