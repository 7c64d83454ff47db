/*
 * "Did you mean" hints: the candidate with the smallest edit distance
 * (insertions, deletions, substitutions and swaps of neighbours), if it is
 * close enough to be a likely typo: a third of the word, at least one edit
 * and at most three, and never the whole word.
 */
#include "config.h"

#include <string.h>

#include "conf/conf_int.h"

#define HINT_WORD_MAX 32

static size_t
min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;

    return m < c ? m : c;
}

/* Optimal string alignment distance; words longer than the max are far. */
static size_t
distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[HINT_WORD_MAX + 1][HINT_WORD_MAX + 1];

    if (la > HINT_WORD_MAX || lb > HINT_WORD_MAX)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];

            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1,
                           d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[la][lb];
}

const char *
conf_hint_pick(const char *word, const char *const *cands, size_t n)
{
    size_t best = SIZE_MAX, limit = strlen(word) / 3;
    const char *pick = NULL;

    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    for (size_t i = 0; i < n; i++) {
        size_t dist = distance(word, cands[i]);

        if (dist <= limit && dist < best && dist < strlen(word)) {
            best = dist;
            pick = cands[i];
        }
    }
    return pick;
}
