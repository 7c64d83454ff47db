/*
 * Invariant checks. ASSERT() is always compiled in and guards only our own
 * invariants: never external input (network, disk, config, peers).
 */
#ifndef COMMON_ASSERT_H
#define COMMON_ASSERT_H

void common_assert_fail(const char *expr, const char *file, int line,
                        const char *func) __attribute__((noreturn));

#define ASSERT(e)                                                          \
    do {                                                                   \
        if (__builtin_expect(!(e), 0))                                     \
            common_assert_fail(#e, __FILE__, __LINE__, __func__);          \
    } while (0)

/* Long-lived structs start with `unsigned magic`. */
#define CHECK_OBJ(p, m)                                                    \
    do {                                                                   \
        ASSERT((p) != NULL);                                               \
        ASSERT((p)->magic == (m));                                         \
    } while (0)

#define CHECK_OBJ_OR_NULL(p, m)                                            \
    do {                                                                   \
        if ((p) != NULL)                                                   \
            ASSERT((p)->magic == (m));                                     \
    } while (0)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
