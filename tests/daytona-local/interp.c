/* interp.c: the fixed Python and PATH of daytona-local's sandboxes (see interp.h). */
#include "interp.h"
#include "sandbox.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_python[PATH_MAX];
static char g_version[128];
static char g_bindir[PATH_MAX];
static char g_prefix[PATH_MAX];         /* dirname(dirname(python)) as given */
static char g_real_prefix[PATH_MAX];    /* the same after symlinks */

const char *dl_interp_python(void) { return g_python; }
const char *dl_interp_version(void) { return g_version; }
const char *dl_interp_bindir(void) { return g_bindir; }

/* Cuts the last two components off path in place ("/usr/bin/python3" -> "/usr"). */
static void two_up(char *path)
{
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(path, '/');
        if (!slash)
            return;
        if (slash == path) {
            path[1] = '\0';
            return;
        }
        *slash = '\0';
    }
}

/* Runs PYTHON --version with a clean environment; its first line goes into
 * g_version. Returns 0 when it works. */
static int ask_version(char *err, size_t errlen)
{
    char *argv[] = {g_python, "--version", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};
    int rc = dl_run_capture(g_python, argv, envp, NULL, 1, g_version, sizeof(g_version));
    g_version[strcspn(g_version, "\r\n")] = '\0';
    if (rc < 0) {
        snprintf(err, errlen, "--python %s: cannot run it: %s", g_python, strerror(errno));
        return -1;
    }
    if (rc != 0 || strncmp(g_version, "Python ", 7) != 0) {
        snprintf(err, errlen, "--python %s: '%s --version' failed (%s): not a working Python",
                 g_python, g_python, g_version[0] ? g_version : "no output");
        return -1;
    }
    return 0;
}

/* Writes an executable /bin/sh script BINDIR/name that runs the interpreter
 * with args first. Returns 0 or -1 (errno). */
static int write_wrapper(const char *name, const char *args)
{
    char path[PATH_MAX + 16];
    char text[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/%s", g_bindir, name);
    int n = snprintf(text, sizeof(text),
                     "#!/bin/sh\n# daytona-local: the sandboxes' %s (--python)\n"
                     "exec '%s'%s \"$@\"\n", name, g_python, args);
    if (n < 0 || (size_t)n >= sizeof(text)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, text, (size_t)n);
    int e = errno;
    close(fd);
    if (w != n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return chmod(path, 0755);
}

int dl_interp_init(const char *python, char *err, size_t errlen)
{
    static const struct { const char *name, *args; } wrappers[] = {
        {"python3", ""}, {"python", ""}, {"pip", " -m pip"}, {"pip3", " -m pip"},
        {"pytest", " -m pytest"},
    };
    struct stat st;
    char real[PATH_MAX];

    if (python[0] != '/') {
        snprintf(err, errlen, "--python %s: give an absolute path (e.g. /usr/bin/python3)", python);
        return -1;
    }
    /* It goes between single quotes in the wrappers. */
    if (strlen(python) >= sizeof(g_python) || strpbrk(python, "'\n")) {
        snprintf(err, errlen, "--python: the path is too long or has a quote or newline in it");
        return -1;
    }
    errno = 0;
    if (stat(python, &st) != 0 || !S_ISREG(st.st_mode) || access(python, X_OK) != 0) {
        snprintf(err, errlen, "--python %s: not an executable file%s%s", python,
                 errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    }
    snprintf(g_python, sizeof(g_python), "%s", python);
    if (ask_version(err, errlen) != 0)
        return -1;
    snprintf(g_prefix, sizeof(g_prefix), "%s", python);
    two_up(g_prefix);
    if (realpath(python, real)) {
        snprintf(g_real_prefix, sizeof(g_real_prefix), "%s", real);
        two_up(g_real_prefix);
    }

    const char *tmp = getenv("TMPDIR");
    snprintf(g_bindir, sizeof(g_bindir), "%s/daytona-local-bin.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_bindir)) {
        snprintf(err, errlen, "cannot make the sandboxes' bin directory %s: %s", g_bindir,
                 strerror(errno));
        g_bindir[0] = '\0';
        return -1;
    }
    if (chmod(g_bindir, 0755) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
        if (write_wrapper(wrappers[i].name, wrappers[i].args) != 0)
            goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot write the sandboxes' bin directory %s: %s", g_bindir,
             strerror(errno));
    dl_interp_cleanup();
    return -1;
}

void dl_interp_cleanup(void)
{
    if (g_bindir[0])
        dl_rmtree(g_bindir);
    g_bindir[0] = '\0';
}

int dl_interp_sandbox_path(const char *home, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s:/usr/bin:/bin:/usr/local/bin:/usr/sbin:/sbin:%s/.local/bin",
                     g_bindir, home);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

size_t dl_interp_keeps(const char **out, size_t max)
{
    size_t n = 0;
    if (g_bindir[0] && n < max)
        out[n++] = g_bindir;
    if (g_prefix[0] && n < max)
        out[n++] = g_prefix;
    if (g_real_prefix[0] && strcmp(g_real_prefix, g_prefix) != 0 && n < max)
        out[n++] = g_real_prefix;
    return n;
}
