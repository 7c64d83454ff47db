/* Time sources. Logic that depends on time takes now_ms as an argument. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds, for timeouts and durations. */
uint64_t clock_mono_ms(void);
/* Monotonic microseconds, for latency measurement. */
uint64_t clock_mono_us(void);
/* Wall-clock milliseconds since the epoch, for HTTP dates and Age. */
int64_t clock_wall_ms(void);

#endif
