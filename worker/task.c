/* task.c: a consumed message's copy (task.h). */
#include "task.h"

#include <stdlib.h>

void task_free(struct task *t)
{
    if (!t)
        return;
    free(t->topic);
    free(t->key);
    free(t->value);
    free(t->traceparent);
    free(t);
}
