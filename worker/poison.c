/* poison.c: the poison decision (see poison.h). */
#include "poison.h"

long poison_dying_attempts(long attempt, long abandoned)
{
    long dying = attempt - 1 - abandoned;
    return dying > 0 ? dying : 0;
}

int poison_is_poison(long attempt, long abandoned, long max_attempts)
{
    return max_attempts > 0 && poison_dying_attempts(attempt, abandoned) >= max_attempts;
}
