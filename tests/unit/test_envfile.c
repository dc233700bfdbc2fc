/* test_envfile.c: the job's environment file (worker/envfile.c), read back by real shells. */
#include "support.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atc/error.h"
#include "envfile.h"

extern char **environ;

#define OUT_MAX 4096

/* Writes text to a new temporary file; its path goes to path. */
static void write_temp(const char *text, size_t len, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "/tmp/test_envfile.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Runs `shell -c script sh arg1` in dir with stdout piped; returns what it
 * printed (at most OUT_MAX bytes) in out and its length, and its exit status. */
static size_t run_shell(const char *shell, const char *script, const char *arg1, const char *dir,
                        char *out, int *status)
{
    int fds[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;
    char *const argv[] = {(char *)shell, "-c", (char *)script, "sh", (char *)arg1, NULL};
    size_t len = 0;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    assert_int_equal(posix_spawn(&pid, shell, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    while ((n = read(fds[0], out + len, OUT_MAX - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
    return len;
}

/* The shells the file must read the same in: sh, and bash when installed. */
static const char *const SHELLS[] = {"/bin/sh", "/bin/bash"};

/* Sources the rendered env in each shell and checks that variable name holds
 * exactly value's bytes, and that nothing in the file ran (no MARK file). */
static void assert_sourced(const struct atc_kv *env, size_t n, const char *name, const char *value)
{
    char *text = NULL;
    size_t len = 0;
    char path[64], dir[64], script[256], out[OUT_MAX];
    int status;

    assert_int_equal(envfile_render(env, n, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    write_temp(text, len, path, sizeof(path));
    snprintf(dir, sizeof(dir), "/tmp/test_envfile_dir.XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* ${NAME+x}: set, even when empty. */
    snprintf(script, sizeof(script), ". \"$1\" && printf '%%s%%s' \"${%s+x}\" \"$%s\"", name, name);
    for (size_t s = 0; s < sizeof(SHELLS) / sizeof(SHELLS[0]); s++) {
        if (access(SHELLS[s], X_OK) != 0)
            continue;
        size_t got = run_shell(SHELLS[s], script, path, dir, out, &status);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(got, strlen(value) + 1);
        assert_int_equal(out[0], 'x');
        assert_memory_equal(out + 1, value, strlen(value));
        char mark[128];
        snprintf(mark, sizeof(mark), "%s/MARK", dir);
        assert_int_equal(access(mark, F_OK), -1);
    }
    rmdir(dir);
    unlink(path);
    free(text);
}

static void envfile__render__writes_one_single_quoted_export_per_entry(void **state)
{
    struct atc_kv env[] = {{"A", "1"}, {"B_2", "it's"}, {"EMPTY", ""}};
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(envfile_render(env, 3, &text, &len), 0);
    assert_string_equal(text, "export 'A'='1'\n"
                              "export 'B_2'='it'\\''s'\n"
                              "export 'EMPTY'=''\n");
    assert_int_equal(len, strlen(text));
    free(text);
}

static void envfile__render_of_nothing__is_an_empty_file(void **state)
{
    char *text = NULL;
    size_t len = 1;

    assert_int_equal(envfile_render(NULL, 0, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
}

static void envfile__hostile_values__reach_the_shell_byte_for_byte(void **state)
{
    static const char *const values[] = {
        "",
        "'",
        "''''",
        "it's \"quoted\" and 'single'",
        "$(touch MARK)",
        "`touch MARK`",
        "${HOME} $HOME $$ $? $0 $1 $@ $*",
        "'; touch MARK; echo '",
        "'\\''; touch MARK; '",
        "a\nb\n",
        "\n\n\n",
        "back\\slash\\ \\n \\' \\\\",
        "tab\there; semi; & | < > * ? [a] ~ # !",
        "\r\x7f\x80\xff\xc3\xa9 not utf-8: \xc3\x28",
        "-n",
        "%s %d %%",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct atc_kv env[] = {{"BEFORE", "b"}, {"V", (char *)values[i]}, {"AFTER", "a"}};
        assert_sourced(env, 3, "V", values[i]);
        assert_sourced(env, 3, "AFTER", "a");
    }
}

static void envfile__every_byte_but_nul__reaches_the_shell_byte_for_byte(void **state)
{
    char all[256];
    for (int b = 1; b < 256; b++)
        all[b - 1] = (char)b;
    all[255] = '\0';
    struct atc_kv env[] = {{"ALL", all}};
    assert_sourced(env, 1, "ALL", all);
}

static void envfile__path_set_by_the_job__does_not_stop_the_file(void **state)
{
    struct atc_kv env[] = {{"PATH", "/nonexistent"}, {"LD_PRELOAD", "/nonexistent.so"},
                           {"LATER", "still set"}};
    assert_sourced(env, 3, "LATER", "still set");
    assert_sourced(env, 3, "PATH", "/nonexistent");
}

/* The value of the last line setting name in text, or NULL. */
static const char *last_value(const char *text, const char *name, char *buf, size_t buflen)
{
    char prefix[64];
    const char *found = NULL;
    snprintf(prefix, sizeof(prefix), "export '%s'='", name);
    for (const char *p = strstr(text, prefix); p; p = strstr(p + 1, prefix))
        found = p + strlen(prefix);
    if (!found)
        return NULL;
    const char *end = strstr(found, "'\n");
    assert_non_null(end);
    snprintf(buf, buflen, "%.*s", (int)(end - found), found);
    return buf;
}

static void envfile__for_job__sets_the_workers_variables_after_the_jobs(void **state)
{
    struct atc_kv env[] = {{"PIP_USER", "1"}, {"PYTHONPATH", "src"}, {"MINE", "x"}};
    struct atc_job job = {.env = env, .nenv = 3};
    char *text = NULL;
    size_t len = 0;
    char err[128], v[64];

    assert_int_equal(envfile_for_job(&job, ".atc/r-00/report.xml", &text, &len, err, sizeof(err)), 0);
    assert_string_equal(last_value(text, "PIP_USER", v, sizeof(v)), "0");
    assert_string_equal(last_value(text, "PYTHONUNBUFFERED", v, sizeof(v)), "1");
    assert_string_equal(last_value(text, "ATC_JUNIT_XML", v, sizeof(v)), ".atc/r-00/report.xml");
    /* Without deps the job's PYTHONPATH is its own. */
    assert_string_equal(last_value(text, "PYTHONPATH", v, sizeof(v)), "src");
    assert_string_equal(last_value(text, "MINE", v, sizeof(v)), "x");
    assert_true(strstr(text, "'MINE'") < strstr(text, "'PYTHONUNBUFFERED'"));
    free(text);
}

static void envfile__for_job_with_deps__puts_the_deps_before_the_jobs_pythonpath(void **state)
{
    char *deps[] = {"requests"};
    struct atc_kv env[] = {{"PYTHONPATH", "src:lib"}};
    struct atc_job job = {.env = env, .nenv = 1, .deps = deps, .ndeps = 1};
    char *text = NULL;
    size_t len = 0;
    char err[128], v[64];

    assert_int_equal(envfile_for_job(&job, ".atc/r-00/report.xml", &text, &len, err, sizeof(err)), 0);
    assert_string_equal(last_value(text, "PYTHONPATH", v, sizeof(v)), ".atc/deps:src:lib");
    assert_int_equal(strstr(strstr(text, "'PYTHONPATH'") + 1, "'PYTHONPATH'"), NULL);
    free(text);

    job.nenv = 0;
    assert_int_equal(envfile_for_job(&job, ".atc/r-00/report.xml", &text, &len, err, sizeof(err)), 0);
    assert_string_equal(last_value(text, "PYTHONPATH", v, sizeof(v)), ".atc/deps");
    free(text);

    env[0].value = "";
    job.nenv = 1;
    assert_int_equal(envfile_for_job(&job, ".atc/r-00/report.xml", &text, &len, err, sizeof(err)), 0);
    assert_string_equal(last_value(text, "PYTHONPATH", v, sizeof(v)), ".atc/deps");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envfile__render__writes_one_single_quoted_export_per_entry),
        cmocka_unit_test(envfile__render_of_nothing__is_an_empty_file),
        cmocka_unit_test(envfile__hostile_values__reach_the_shell_byte_for_byte),
        cmocka_unit_test(envfile__every_byte_but_nul__reaches_the_shell_byte_for_byte),
        cmocka_unit_test(envfile__path_set_by_the_job__does_not_stop_the_file),
        cmocka_unit_test(envfile__for_job__sets_the_workers_variables_after_the_jobs),
        cmocka_unit_test(envfile__for_job_with_deps__puts_the_deps_before_the_jobs_pythonpath),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
