/* interp.h: the fixed Python and PATH of daytona-local's sandboxes: --python,
 * a per-server bin directory whose python3/python/pip/pip3/pytest run that
 * interpreter, and the PATH every sandbox command starts with, whatever the
 * server's own PATH is (a pyenv shim, a virtualenv, ...). */
#ifndef DL_INTERP_H
#define DL_INTERP_H

#include <stddef.h>

/* Checks python (an executable file; a relative path or a bare name is
 * refused), asks it for its version, and makes the bin directory
 * ($TMPDIR/daytona-local-bin.XXXXXX, 0755) with one wrapper script per name.
 * Returns 0, or -1 with the reason for a person in err. */
int dl_interp_init(const char *python, char *err, size_t errlen);

/* Removes the bin directory; safe to call when init failed or never ran. */
void dl_interp_cleanup(void);

/* The interpreter as given (absolute), its version ("Python 3.11.2"), and the
 * bin directory; static strings, valid after a successful init. */
const char *dl_interp_python(void);
const char *dl_interp_version(void);
const char *dl_interp_bindir(void);

/* Writes the PATH of a command in the sandbox whose home is home:
 * BINDIR:/usr/bin:/bin:/usr/local/bin:/usr/sbin:/sbin:HOME/.local/bin.
 * Returns 0, or -1 when it does not fit. */
int dl_interp_sandbox_path(const char *home, char *out, size_t outlen);

/* Directories a confined command must still see (the jail hides /tmp, the
 * sandboxes' root and the server's home): the bin directory and the
 * interpreter's prefix, as given and after symlinks (a virtualenv or a pyenv
 * version under the home). Fills up to max entries of out (static strings)
 * and returns how many. */
size_t dl_interp_keeps(const char **out, size_t max);

#endif
