/* doctor.h: the `atc doctor` command (the checks are atc/doctor.h). */
#ifndef ATC_CLI_DOCTOR_H
#define ATC_CLI_DOCTOR_H

#include <stddef.h>

/* Runs `atc doctor` with the arguments after the command word; xprops are the
 * global -X pairs (borrowed). Returns the exit status: 0 all passed, 1 a check
 * failed, 2 bad usage. */
int doctor_cmd(int argc, char **argv, char **xprops, size_t nx, int json);

#endif
