/* testskip.h — a test that cannot run here says why, and CTest reports it skipped.
 *
 * cmocka's skip() counts as a pass in a program's exit status, so a test that never
 * ran would pass silently. Here every skip prints "SKIP: <reason>" and is counted;
 * main returns testskip_exit(failures), which is TESTSKIP_EXIT (every cmocka test is
 * registered with it as SKIP_RETURN_CODE) when something was skipped and nothing
 * failed. Only what this host or build cannot do is skipped (not root, no mount, a
 * sanitizer's RSS): a program the project's scripts install is required, and a test
 * fails without it. tests/suite_check.sh keeps bare skip() out of the tests.
 */
#ifndef TESTSKIP_H
#define TESTSKIP_H

#define TESTSKIP_EXIT 77

/* Skip the rest of the running cmocka test, printing why (printf format). */
#define testskip(...)                                                                  \
    do {                                                                               \
        testskip_note(__VA_ARGS__);                                                    \
        skip();                                                                        \
    } while (0)

/* Count a check that cannot be made here as skipped, printing "SKIP: " and why
 * (printf format) on stdout; the test goes on with its other checks. */
void testskip_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status of a test program whose cmocka run had failures failed tests: 1 if
 * any failed, else TESTSKIP_EXIT if any test or check was skipped, else 0. */
int testskip_exit(int failures);

#endif
