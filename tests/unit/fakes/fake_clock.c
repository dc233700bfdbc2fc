/* fake_clock.c: atc/clock.h on a clock the test drives (see fakes.h). */
#include "fakes.h"

#include <string.h>

#include "atc/clock.h"

struct fake_clock fake_clock;

void fake_clock_reset(void)
{
    memset(&fake_clock, 0, sizeof(fake_clock));
}

int64_t atc_clock_mono_ms(void)
{
    return fake_clock.now_ms;
}

int64_t atc_clock_wall_ms(void)
{
    return 1700000000000 + fake_clock.now_ms;
}

void atc_clock_sleep_ms(int64_t ms)
{
    if (ms > 0)
        fake_clock.now_ms += ms;
    fake_clock.sleeps++;
    if (fake_clock.on_sleep != NULL)
        fake_clock.on_sleep(fake_clock.on_sleep_arg);
}

int fake_scripted(const int *rcs, int count, int n)
{
    if (count <= 0)
        return 0;
    return rcs[n < count ? n : count - 1];
}
