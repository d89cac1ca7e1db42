/* fakeroot.h — a temporary directory that stands in for / in the tests of daemon code
 * that reads /proc and /sys through a root prefix (memlimit.c, hugepages.c): cmocka
 * setup and teardown that make and remove it, and fakeroot_put to write its files.
 */
#ifndef TESTS_UNIT_FAKEROOT_H
#define TESTS_UNIT_FAKEROOT_H

/* cmocka setup: *state is the path (a char *) of a new, empty directory under /tmp;
 * returns 0, or -1 when it cannot be made. */
int fakeroot_setup(void **state);

/* cmocka teardown: removes the directory of fakeroot_setup with all it holds and
 * frees its path; returns 0, or -1 when anything could not be removed. */
int fakeroot_teardown(void **state);

/* root/path holds text, directories made as needed (path starts with '/'); fails
 * the test when a file cannot be written. */
void fakeroot_put(const char *root, const char *path, const char *text);

#endif
