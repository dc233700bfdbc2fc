/* env.h: the `atc env` command (ls, build, rm) over the fleet's dependency
 * environments. */
#ifndef ATC_PRODUCER_ENV_H
#define ATC_PRODUCER_ENV_H

/* Runs `atc env` with its arguments (after "env"); as_json from a global
 * --json. Returns the exit status (render.h's RENDER_EXIT_*). */
int env_cmd(int argc, char **argv, int as_json);

#endif
