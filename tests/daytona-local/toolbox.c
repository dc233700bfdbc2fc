/* toolbox.c: daytona-local's toolbox routes: files and processes of a sandbox. */
#include "toolbox.h"
#include "interp.h"
#include "multipart.h"
#include "sandbox.h"
#include "util.h"

#include "atc/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_uploads, g_upload_files, g_downloads, g_code_runs;

static void count(long *c, long n)
{
    pthread_mutex_lock(&g_lock);
    *c += n;
    pthread_mutex_unlock(&g_lock);
}

void dl_toolbox_stats(json_t *obj)
{
    pthread_mutex_lock(&g_lock);
    json_object_set_new(obj, "uploads", json_integer(g_uploads));
    json_object_set_new(obj, "uploaded_files", json_integer(g_upload_files));
    json_object_set_new(obj, "downloads", json_integer(g_downloads));
    json_object_set_new(obj, "code_runs", json_integer(g_code_runs));
    pthread_mutex_unlock(&g_lock);
}

/* Turns a request path into a normalized path relative to the sandbox
 * directory: relative paths as they are, absolute ones only under the
 * sandbox directory or /home/daytona. Rejects ".." and NUL-free control
 * characters. Returns 0 (out may be "" for the directory itself) or -1. */
static int rel_path(const struct dl_sandbox *sb, const char *path, char *out, size_t outlen)
{
    const char *dir = dl_sandbox_dir(sb);
    size_t dlen = strlen(dir);
    size_t n = 0;
    if (!path)
        return -1;
    if (path[0] == '/') {
        if (strncmp(path, dir, dlen) == 0 && (path[dlen] == '/' || !path[dlen]))
            path += dlen;
        else if (strncmp(path, "/home/daytona", 13) == 0 && (path[13] == '/' || !path[13]))
            path += 13;
        else
            return -1;
    }
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t clen = strcspn(p, "/");
        if ((clen == 1 && p[0] == '.')) {
            p += clen;
            continue;
        }
        if (clen == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        for (size_t i = 0; i < clen; i++)
            if ((unsigned char)p[i] < 0x20)
                return -1;
        if (n + clen + 2 > outlen)
            return -1;
        if (n)
            out[n++] = '/';
        memcpy(out + n, p, clen);
        n += clen;
        p += clen;
    }
    out[n] = '\0';
    return 0;
}

/* Gives a file or directory the server just made to the sandbox's uid (when
 * it has one), so its commands can change it: fd when >= 0, else name in dfd. */
static void give(const struct dl_sandbox *sb, int dfd, const char *name, int fd)
{
    long uid = dl_sandbox_uid(sb);
    if (uid < 0)
        return;
    if (fd >= 0)
        (void)fchown(fd, (uid_t)uid, (gid_t)uid);
    else if (name)
        (void)fchownat(dfd, name, (uid_t)uid, (gid_t)uid, AT_SYMLINK_NOFOLLOW);
}

/* Opens the directory holding rel's last component, making the parents
 * when mk is set, never following symlinks. *last points into rel. Returns
 * a directory fd or -1 (errno set). */
static int open_parent(const struct dl_sandbox *sb, char *rel, int mk, const char **last)
{
    int dfd = open(dl_sandbox_dir(sb), O_DIRECTORY | O_CLOEXEC);
    char *p = rel;
    if (dfd < 0)
        return -1;
    for (;;) {
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        if (mk && mkdirat(dfd, p, 0755) == 0) {
            give(sb, dfd, p, -1);
        } else if (mk && errno != EEXIST) {
            int e = errno;
            *slash = '/';
            close(dfd);
            errno = e;
            return -1;
        }
        int nfd = openat(dfd, p, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        *slash = '/';
        close(dfd);
        if (nfd < 0) {
            errno = e;
            return -1;
        }
        dfd = nfd;
        p = slash + 1;
    }
    *last = p;
    return dfd;
}

/* Writes data to rel (made relative by rel_path) inside sb. Returns 0 or -1 (errno). */
static int write_file(const struct dl_sandbox *sb, char *rel, const char *data, size_t len)
{
    const char *last = NULL;
    int dfd = open_parent(sb, rel, 1, &last);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, last, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = errno;
    close(dfd);
    if (fd < 0) {
        errno = e;
        return -1;
    }
    give(sb, -1, NULL, fd);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0)
        return -1;
    return 0;
}

/* Opens rel for reading; returns an fd of a regular file, or -1 with errno
 * (EISDIR for a directory). */
static int open_read(const struct dl_sandbox *sb, char *rel)
{
    const char *last = NULL;
    struct stat st;
    if (!*rel) {
        errno = EISDIR;
        return -1;
    }
    int dfd = open_parent(sb, rel, 0, &last);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, last, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0) {
        errno = e == ELOOP ? EACCES : e;
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return -1;
    }
    return fd;
}

/* The daemon's error for a failed file open: status and code. */
static void file_error(int e, int *status, const char **code)
{
    if (e == ENOENT || e == ENOTDIR) {
        *status = 404;
        *code = "FILE_NOT_FOUND";
    } else if (e == EACCES || e == EPERM) {
        *status = 403;
        *code = "FILE_ACCESS_DENIED";
    } else if (e == EISDIR || e == EINVAL) {
        *status = 400;
        *code = "INVALID_FILE_PATH";
    } else {
        *status = 500;
        *code = "FILE_READ_FAILED";
    }
}

struct upload_state {
    struct dl_sandbox *sb;
    json_t *paths;      /* index (as a string) -> destination path */
    json_t *files;      /* [{path, bytes}] written */
    json_t *errors;     /* ["<dest>: ..."] */
    const char *single; /* files/upload?path=: the one destination */
};

/* Parses "files[N].<what>" into N and what; returns 0 or -1. */
static int upload_field(const char *name, char *idx, size_t idxlen, const char **what)
{
    if (strncmp(name, "files[", 6) != 0)
        return -1;
    const char *p = name + 6;
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n >= idxlen || p[n] != ']' || p[n + 1] != '.')
        return -1;
    memcpy(idx, p, n);
    idx[n] = '\0';
    *what = p + n + 2;
    return 0;
}

static void upload_one(struct upload_state *st, const char *dest, const char *data, size_t len)
{
    char rel[PATH_MAX];
    char msg[PATH_MAX + 128];
    if (rel_path(st->sb, dest, rel, sizeof(rel)) != 0 || !*rel) {
        snprintf(msg, sizeof(msg), "%s: invalid path (must stay inside the sandbox)", dest);
        json_array_append_new(st->errors, json_string(msg));
        return;
    }
    if (write_file(st->sb, rel, data, len) != 0) {
        snprintf(msg, sizeof(msg), "%s: create: %s", dest, strerror(errno));
        json_array_append_new(st->errors, json_string(msg));
        return;
    }
    json_array_append_new(st->files, json_pack("{s:s, s:I}", "path", dest, "bytes",
                                               (json_int_t)len));
}

static int upload_part(void *ud, const struct dl_mp_part *part)
{
    struct upload_state *st = ud;
    char idx[24];
    char msg[256];
    const char *what = NULL;
    if (st->single) {
        if (strcmp(part->name, "file") == 0)
            upload_one(st, st->single, part->data, part->len);
        return 0;
    }
    if (upload_field(part->name, idx, sizeof(idx), &what) != 0)
        return 0;               /* unknown fields are ignored */
    if (strcmp(what, "path") == 0) {
        json_t *s = json_stringn_nocheck(part->data, part->len);
        if (s)
            json_object_set_new(st->paths, idx, s);
        return 0;
    }
    if (strcmp(what, "file") == 0) {
        const json_t *dest = json_object_get(st->paths, idx);
        if (!dest) {
            snprintf(msg, sizeof(msg), "file[%s]: missing .path metadata", idx);
            json_array_append_new(st->errors, json_string(msg));
            return 0;
        }
        upload_one(st, json_string_value(dest), part->data, part->len);
    }
    return 0;
}

static enum MHD_Result files_upload(struct dl_req *r, struct dl_sandbox *sb, const char *single)
{
    char boundary[80];
    char err[256];
    struct upload_state st = {.sb = sb, .single = single};
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    enum MHD_Result ret;

    if (single && (!ct || dl_mp_boundary(ct, boundary, sizeof(boundary)) != 0)) {
        /* upload-v2 also takes the raw bytes as the body. */
        st.files = json_array();
        st.errors = json_array();
        upload_one(&st, single, r->body, r->body_len);
        goto reply;
    }
    if (!ct || dl_mp_boundary(ct, boundary, sizeof(boundary)) != 0)
        return dl_reply_json(r, 400, json_pack("{s:[s]}", "errors", "invalid multipart form"));
    st.paths = json_object();
    st.files = json_array();
    st.errors = json_array();
    if (!st.paths || !st.files || !st.errors) {
        ret = dl_reply_daemon_error(r, 500, "INTERNAL_SERVER_ERROR", "out of memory");
        goto out;
    }
    if (dl_mp_parse(r->body, r->body_len, boundary, upload_part, &st, err, sizeof(err)) != 0) {
        ret = dl_reply_json(r, 400, json_pack("{s:[s], s:O}", "errors", err, "files", st.files));
        goto out;
    }
reply:
    count(&g_uploads, 1);
    count(&g_upload_files, (long)json_array_size(st.files));
    if (json_array_size(st.errors) > 0)
        ret = dl_reply_json(r, 400, json_pack("{s:O, s:O}", "errors", st.errors, "files", st.files));
    else if (single)
        ret = dl_reply_empty(r, 200);
    else
        ret = dl_reply_json(r, 200, json_pack("{s:O}", "files", st.files));
out:
    json_decref(st.paths);
    json_decref(st.files);
    json_decref(st.errors);
    return ret;
}

static int read_all(int fd, struct dl_buf *b)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (b->len + (size_t)n > g_dl_cfg.max_body_bytes) {
            errno = EFBIG;
            return -1;
        }
        if (dl_buf_append(b, chunk, (size_t)n) != 0) {
            errno = ENOMEM;
            return -1;
        }
    }
}

/* Appends an error part for path to out. */
static int emit_error(struct dl_req *r, struct dl_buf *out, const char *path, int status,
                      const char *code, const char *message)
{
    char ts[40];
    dl_iso_time(atc_clock_wall_ms(), ts, sizeof(ts));
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "statusCode", status, "message",
                          message, "code", code, "timestamp", ts, "path", "/files/bulk-download",
                          "method", r->method, "source", "DAYTONA_DAEMON");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return -1;
    int rc = dl_mp_emit_part(out, "error", path, "application/json; charset=utf-8", text,
                             strlen(text));
    free(text);
    return rc;
}

static enum MHD_Result files_bulk_download(struct dl_req *r, struct dl_sandbox *sb)
{
    json_t *body = dl_req_json(r);
    json_t *paths = body ? json_object_get(body, "paths") : NULL;
    struct dl_buf out = {0};
    enum MHD_Result ret;
    size_t i;
    json_t *p;

    if (!json_is_array(paths) || json_array_size(paths) == 0) {
        json_decref(body);
        return dl_reply_json(r, 400, json_pack("{s:s}", "error",
                                               "request body must be {\"paths\": [ ... ]} and non-empty"));
    }
    json_array_foreach(paths, i, p) {
        const char *path = json_string_value(p);
        char rel[PATH_MAX];
        char msg[PATH_MAX + 64];
        struct dl_buf data = {0};
        int rc;
        if (!path) {
            rc = emit_error(r, &out, "", 400, "INVALID_FILE_PATH", "path must be a string");
        } else if (rel_path(sb, path, rel, sizeof(rel)) != 0) {
            snprintf(msg, sizeof(msg), "invalid path: %s", path);
            rc = emit_error(r, &out, path, 400, "INVALID_FILE_PATH", msg);
        } else {
            int fd = open_read(sb, rel);
            if (fd < 0 || read_all(fd, &data) != 0) {
                int status;
                const char *code;
                int e = errno;
                file_error(e, &status, &code);
                if (status == 404)
                    snprintf(msg, sizeof(msg), "file not found: %s", path);
                else
                    snprintf(msg, sizeof(msg), "%s: %s", path, strerror(e));
                rc = emit_error(r, &out, path, status, code, msg);
            } else {
                rc = dl_mp_emit_part(&out, "file", path, "application/octet-stream",
                                     data.p ? data.p : "", data.len);
            }
            if (fd >= 0)
                close(fd);
        }
        dl_buf_free(&data);
        if (rc != 0) {
            dl_buf_free(&out);
            json_decref(body);
            return dl_reply_daemon_error(r, 500, "INTERNAL_SERVER_ERROR", "out of memory");
        }
    }
    json_decref(body);
    if (dl_mp_emit_end(&out) != 0) {
        dl_buf_free(&out);
        return dl_reply_daemon_error(r, 500, "INTERNAL_SERVER_ERROR", "out of memory");
    }
    count(&g_downloads, 1);
    struct MHD_Response *resp = MHD_create_response_from_buffer(out.len, out.p,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        dl_buf_free(&out);
        return MHD_NO;
    }
    out.p = NULL;
    MHD_add_response_header(resp, "Content-Type",
                            "multipart/form-data; boundary=" DL_MP_BOUNDARY);
    ret = dl_reply(r, 200, resp);
    return ret;
}

static enum MHD_Result files_download(struct dl_req *r, struct dl_sandbox *sb)
{
    const char *path = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "path");
    char rel[PATH_MAX];
    char msg[PATH_MAX + 64];
    struct stat st;
    if (!path || !*path || rel_path(sb, path, rel, sizeof(rel)) != 0)
        return dl_reply_daemon_error(r, 400, "INVALID_FILE_PATH", "invalid or empty path");
    int fd = open_read(sb, rel);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int status;
        const char *code;
        int e = errno;
        if (fd >= 0)
            close(fd);
        file_error(e, &status, &code);
        snprintf(msg, sizeof(msg), status == 404 ? "file not found: %s" : "cannot read %s", path);
        return dl_reply_daemon_error(r, status, code, msg);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char disp[300];
    char name[220];
    size_t k = 0;
    for (const char *c = base; *c && k < 200; c++)
        if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
            name[k++] = *c;
    name[k] = '\0';
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Content-Disposition", disp);
    count(&g_downloads, 1);
    return dl_reply(r, 200, resp);
}

static enum MHD_Result files_folder(struct dl_req *r, struct dl_sandbox *sb)
{
    const char *path = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "path");
    const char *mode_s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "mode");
    char rel[PATH_MAX];
    char msg[PATH_MAX + 64];
    long mode = 0755;
    if (mode_s && *mode_s) {
        char *end = NULL;
        errno = 0;
        mode = strtol(mode_s, &end, 8);
        if (errno || *end || mode < 0 || mode > 07777)
            return dl_reply_daemon_error(r, 400, "BAD_REQUEST", "invalid mode");
    }
    if (!path || rel_path(sb, path, rel, sizeof(rel)) != 0)
        return dl_reply_daemon_error(r, 400, "INVALID_FILE_PATH", "invalid path");
    if (!*rel)
        return dl_reply_empty(r, 201);
    /* Make every component, the last with the requested mode. */
    size_t len = strlen(rel);
    if (len + 2 > sizeof(rel))
        return dl_reply_daemon_error(r, 400, "INVALID_FILE_PATH", "invalid path");
    rel[len] = '/';
    rel[len + 1] = '\0';
    const char *last = NULL;
    int dfd = open_parent(sb, rel, 1, &last);
    if (dfd < 0) {
        snprintf(msg, sizeof(msg), "mkdir %s: %s", path, strerror(errno));
        return dl_reply_daemon_error(r, 400, "BAD_REQUEST", msg);
    }
    close(dfd);
    rel[len] = '\0';
    char full[PATH_MAX * 2];
    if ((size_t)snprintf(full, sizeof(full), "%s/%s", dl_sandbox_dir(sb), rel) < sizeof(full))
        chmod(full, (mode_t)mode);
    return dl_reply_empty(r, 201);
}

/* Checks envs: NULL/absent, or an object of strings with valid names. */
static int envs_ok(const json_t *envs)
{
    const char *k;
    const json_t *v;
    if (!envs || json_is_null(envs))
        return 1;
    if (!json_is_object(envs))
        return 0;
    json_object_foreach((json_t *)envs, k, v)
        if (!dl_env_name_ok(k) || !json_is_string(v))
            return 0;
    return 1;
}

/* Runs argv with stdin_data for a process/execute or code-run request. */
static enum MHD_Result run_and_reply(struct dl_req *r, struct dl_sandbox *sb, char *const argv[],
                                     const char *stdin_data, size_t stdin_len, const json_t *body,
                                     int code_run)
{
    char err[512];
    struct dl_run res;
    const json_t *cwd = json_object_get(body, "cwd");
    const json_t *envs = json_object_get(body, "envs");
    const json_t *timeout = json_object_get(body, "timeout");
    long timeout_s = 0;
    if (cwd && !json_is_null(cwd) && !json_is_string(cwd))
        return dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY", "cwd must be a string");
    if (!envs_ok(envs))
        return dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY",
                                     "envs must be an object of strings with valid names");
    if (timeout && !json_is_null(timeout)) {
        if (!json_is_number(timeout) || json_number_value(timeout) < 0 ||
            json_number_value(timeout) > 4294967295.0)
            return dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY",
                                         "timeout must be a number of seconds >= 0");
        timeout_s = (long)json_number_value(timeout);
    }
    if (g_dl_cfg.latency_exec_ms > 0)
        dl_sleep_ms(g_dl_cfg.latency_exec_ms);
    if (g_dl_cfg.exec_canned != NULL && !code_run) {
        dl_sandbox_count_canned_exec();
        return dl_reply_json(r, 200, json_pack("{s:i, s:s}", "exitCode", 0, "result",
                                               g_dl_cfg.exec_canned));
    }
    int rc = dl_sandbox_run(sb, argv, stdin_data, stdin_len, json_string_value(cwd),
                            json_is_object(envs) ? envs : NULL, timeout_s, &res, err, sizeof(err));
    if (rc == -400)
        return dl_reply_daemon_error(r, 400, "BAD_REQUEST", err);
    if (rc != 0)
        return dl_reply_json(r, 200, json_pack("{s:i, s:s}", "exitCode", -1, "result", err));
    if (res.timed_out) {
        free(res.output);
        return dl_reply_daemon_error(r, 408, "PROCESS_EXECUTION_TIMEOUT",
                                     "command execution timeout");
    }
    size_t fixed_len = 0;
    char *fixed = dl_utf8_repair(res.output, res.output_len, &fixed_len);
    free(res.output);
    if (!fixed)
        return dl_reply_daemon_error(r, 500, "INTERNAL_SERVER_ERROR", "out of memory");
    json_t *o = json_pack("{s:i, s:s%}", "exitCode", res.exit_code, "result", fixed, fixed_len);
    free(fixed);
    if (o && code_run)
        json_object_set_new(o, "artifacts", json_pack("{s:[]}", "charts"));
    return dl_reply_json(r, 200, o);
}

static const char *shell_path(void)
{
    return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

static enum MHD_Result process_execute(struct dl_req *r, struct dl_sandbox *sb)
{
    json_t *body = dl_req_json(r);
    if (!body)
        return dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY", "invalid request body");
    const char *command = json_string_value(json_object_get(body, "command"));
    if (!command || strspn(command, " \t\r\n") == strlen(command)) {
        json_decref(body);
        return dl_reply_daemon_error(r, 400, "BAD_REQUEST", "command is required");
    }
    char *argv[] = {(char *)shell_path(), NULL};
    /* The shell reads the command from stdin; a final newline ends its last line. */
    size_t clen = strlen(command);
    char *script = malloc(clen + 2);
    if (!script) {
        json_decref(body);
        return dl_reply_daemon_error(r, 500, "INTERNAL_SERVER_ERROR", "out of memory");
    }
    memcpy(script, command, clen);
    script[clen] = '\n';
    script[clen + 1] = '\0';
    enum MHD_Result ret = run_and_reply(r, sb, argv, script, clen + 1, body, 0);
    free(script);
    json_decref(body);
    return ret;
}

static enum MHD_Result process_code_run(struct dl_req *r, struct dl_sandbox *sb)
{
    enum { MAX_ARGV = 64 };
    char *argv[MAX_ARGV + 4];
    size_t n = 0, i;
    json_t *a;
    json_t *body = dl_req_json(r);
    if (!body)
        return dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY", "invalid request body");
    const char *code = json_string_value(json_object_get(body, "code"));
    const char *lang = json_string_value(json_object_get(body, "language"));
    const json_t *extra = json_object_get(body, "argv");
    enum MHD_Result ret;
    if (!code) {
        ret = dl_reply_daemon_error(r, 400, "BAD_REQUEST", "code is required");
        goto out;
    }
    if (!lang || strcmp(lang, "python") == 0) {
        argv[n++] = (char *)dl_interp_python();
        argv[n++] = "-u";
        argv[n++] = "-";
    } else if (strcmp(lang, "javascript") == 0) {
        argv[n++] = "node";
        argv[n++] = "-";
    } else {
        ret = dl_reply_daemon_error(r, 400, "BAD_REQUEST", "unsupported language");
        goto out;
    }
    if (extra && !json_is_null(extra)) {
        if (!json_is_array(extra) || json_array_size(extra) > MAX_ARGV) {
            ret = dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY",
                                        "argv must be an array of at most 64 strings");
            goto out;
        }
        json_array_foreach(extra, i, a) {
            if (!json_is_string(a)) {
                ret = dl_reply_daemon_error(r, 400, "INVALID_REQUEST_BODY",
                                            "argv must be an array of strings");
                goto out;
            }
            argv[n++] = (char *)json_string_value(a);
        }
    }
    argv[n] = NULL;
    count(&g_code_runs, 1);
    ret = run_and_reply(r, sb, argv, code, strlen(code), body, 1);
out:
    json_decref(body);
    return ret;
}

enum MHD_Result dl_toolbox_handle(struct dl_req *r)
{
    char id[64];
    const char *rest = r->url + 9;
    size_t idlen = strcspn(rest, "/");
    if (idlen == 0 || idlen >= sizeof(id))
        return dl_reply_daemon_error(r, 404, "NOT_FOUND", "sandbox not found");
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    const char *ep = rest + idlen;      /* "/process/execute" etc. */
    struct dl_sandbox *sb = dl_sandbox_get(id);
    if (!sb)
        return dl_reply_daemon_error(r, 404, "NOT_FOUND", "sandbox not found");
    const char *m = r->method;
    int post = strcmp(m, "POST") == 0, get = strcmp(m, "GET") == 0;
    enum MHD_Result ret;
    if (post && strcmp(ep, "/process/execute") == 0)
        ret = process_execute(r, sb);
    else if (post && strcmp(ep, "/process/code-run") == 0)
        ret = process_code_run(r, sb);
    else if (post && strcmp(ep, "/files/bulk-upload") == 0)
        ret = files_upload(r, sb, NULL);
    else if (post && (strcmp(ep, "/files/upload") == 0 || strcmp(ep, "/files/upload-v2") == 0)) {
        const char *path = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "path");
        if (!path || !*path)
            ret = dl_reply_daemon_error(r, 400, "INVALID_FILE_PATH", "path is required");
        else
            ret = files_upload(r, sb, path);
    } else if (post && strcmp(ep, "/files/bulk-download") == 0)
        ret = files_bulk_download(r, sb);
    else if (get && strcmp(ep, "/files/download") == 0)
        ret = files_download(r, sb);
    else if (post && strcmp(ep, "/files/folder") == 0)
        ret = files_folder(r, sb);
    else if (get && (strcmp(ep, "/work-dir") == 0 || strcmp(ep, "/user-home-dir") == 0 ||
                     strcmp(ep, "/project-dir") == 0))
        ret = dl_reply_json(r, 200, json_pack("{s:s}", "dir", dl_sandbox_dir(sb)));
    else if (get && strcmp(ep, "/version") == 0)
        ret = dl_reply_json(r, 200, json_pack("{s:s}", "version", "daytona-local"));
    else
        ret = dl_reply_daemon_error(r, 404, "NOT_FOUND", "no such toolbox endpoint");
    dl_sandbox_put(sb);
    return ret;
}
