/* clock.h: the fleet's one reading of time: monotonic and wall-clock
 * milliseconds, and a sleep that a signal does not cut short.
 * Thread-safe. The three functions live alone in clock.c so a unit test can
 * replace them at link time with a clock it drives. */
#ifndef ATC_CLOCK_H
#define ATC_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: for durations and deadlines; never steps. */
int64_t atc_clock_mono_ms(void);

/* Milliseconds since the Unix epoch on CLOCK_REALTIME: for timestamps that
 * leave the process (results, logs, Redis scores); may step. */
int64_t atc_clock_wall_ms(void);

/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after EINTR so the
 * whole time passes. A wait that a stop flag must end sleeps in slices. */
void atc_clock_sleep_ms(int64_t ms);

#endif
