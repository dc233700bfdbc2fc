/* poison.h: stopping a message whose attempts keep dying with their worker
 * (a job that makes its worker run out of memory or crash): the decision,
 * kept apart from Redis and Kafka so that a unit test needs neither. */
#ifndef ATC_WORKER_POISON_H
#define ATC_WORKER_POISON_H

/* The attempts before attempt that ended with neither a final result nor a
 * give-up on purpose (abandoned, counted in the result's `abandoned` field):
 * those that died with their worker. Never negative. */
long poison_dying_attempts(long attempt, long abandoned);

/* 1 when attempt must not run: max_attempts (> 0; 0 turns the check off)
 * attempts before it died with their worker. */
int poison_is_poison(long attempt, long abandoned, long max_attempts);

#endif
