/*
 * CHECK(): an assertion for test code running on threads of its own.
 * cmocka's assertions longjmp, so they only work on the test's main thread.
 */
#ifndef TESTS_UNIT_TEST_CHECK_H
#define TESTS_UNIT_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(e)                                                            \
    do {                                                                    \
        if (!(e)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #e);                                                    \
            abort();                                                        \
        }                                                                   \
    } while (0)

#endif
