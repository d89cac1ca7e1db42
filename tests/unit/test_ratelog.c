/* test_ratelog.c — log lines a peer can make the daemon repeat (daemon/ratelog.c), built
 * with the daemon's log on a private libuv loop: RATELOG_BURST lines are written per
 * period, the rest are counted, and the count is told in one summary line at close.
 * The daemon logs to stderr: the test reads what it wrote there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ratelog.h"
#include "testskip.h"

/* Run ratelog through `events` events on a loop of its own, with stderr caught into
 * out (len bytes); returns how many events it allowed. */
static unsigned ratelog_run(unsigned events, char *out, size_t len)
{
    struct log_ctx lg = { .level = LOG_LEVEL_DEBUG, .journal = false };
    FILE *caught = tmpfile();
    int saved = dup(STDERR_FILENO);
    struct ratelog rl;
    unsigned allowed = 0;
    uv_loop_t loop;
    size_t n;

    assert_non_null(caught);
    assert_true(saved >= 0);
    fflush(stderr);
    assert_true(dup2(fileno(caught), STDERR_FILENO) >= 0);
    assert_int_equal(uv_loop_init(&loop), 0);
    ratelog_init(&rl, &loop, &lg, "refused connections");
    for (unsigned i = 0; i < events; i++)
        allowed += ratelog_allow(&rl);
    ratelog_close(&rl);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0); /* the timer is closed */
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(caught);
    n = fread(out, 1, len - 1, caught);
    out[n] = '\0';
    fclose(caught);
    return allowed;
}

static void test_ratelog_allows_a_burst_and_summarises_the_rest_at_close(void **state)
{
    (void)state;
    char out[4096], want[128];

    assert_int_equal(ratelog_run(RATELOG_BURST + 37, out, sizeof(out)), RATELOG_BURST);
    snprintf(want, sizeof(want), "37 more refused connections not logged");
    assert_non_null(strstr(out, want));
    /* One summary line, nothing else: the allowed lines are the caller's to write. */
    assert_ptr_equal(strchr(out, '\n'), strrchr(out, '\n'));
}

static void test_ratelog_within_a_burst_writes_no_summary(void **state)
{
    (void)state;
    char out[4096];

    assert_int_equal(ratelog_run(RATELOG_BURST, out, sizeof(out)), RATELOG_BURST);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelog_allows_a_burst_and_summarises_the_rest_at_close),
        cmocka_unit_test(test_ratelog_within_a_burst_writes_no_summary),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
