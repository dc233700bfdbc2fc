/* test_daytona.c: the Daytona client against daytona-local (round trip, exit
 * codes, timeouts, capping, every error class), and its pure parsers. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../../common/src/daytona_http.h"
#include "atc/daytona.h"
#include "atc/error.h"
#include "atc/output.h"

#define TEST_KEY "test-key"

static struct test_daytona g;
static char err[1024];

/* ---- helpers ---------------------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct atc_dhttp_body *b = ud;
    char *q = realloc(b->data, b->len + size * n + 1);
    if (q == NULL)
        return 0;
    memcpy(q + b->len, p, size * n);
    b->data = q;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* A plain libcurl request to daytona-local's /_local endpoints; returns the
 * HTTP status and the body in *out (caller frees) when out is not NULL. */
static long local_call(const char *method, const char *path, const char *json, char **out)
{
    char url[512];
    struct atc_dhttp_body b = {0};
    struct curl_slist *h = NULL;
    long status = 0;
    /* The URL printed ends in /api; /_local lives at the root. */
    size_t n = strlen(g.url);
    if (n >= 4 && strcmp(g.url + n - 4, "/api") == 0)
        n -= 4;
    snprintf(url, sizeof(url), "%.*s%s", (int)n, g.url, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    h = curl_slist_append(h, "Authorization: Bearer " TEST_KEY);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json != NULL ? json : "");
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out != NULL)
        *out = b.data;
    else
        free(b.data);
    return status;
}

static long long stats_requests(void)
{
    char *body = NULL;
    long st = local_call("GET", "/_local/stats", NULL, &body);
    assert_int_equal(st, 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    json_t *n = json_object_get(j, "requests");
    assert_true(json_is_integer(n));
    long long v = json_integer_value(n);
    json_decref(j);
    return v;
}

static long long stats_live(void)
{
    char *body = NULL;
    long st = local_call("GET", "/_local/stats", NULL, &body);
    assert_int_equal(st, 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    json_t *live = json_object_get(j, "live");
    assert_true(json_is_integer(live));
    long long v = json_integer_value(live);
    json_decref(j);
    return v;
}

static void inject(const char *faults_json)
{
    long st = local_call("POST", "/_local/faults", faults_json, NULL);
    assert_true(st >= 200 && st <= 299);
}

static void make_sandbox(struct atc_sandbox *sb, const struct atc_kv *labels, size_t nlabels)
{
    struct atc_sandbox_spec spec = {.labels = labels, .nlabels = nlabels,
                                    .auto_stop_min = -1, .auto_delete_min = -1};
    int rc = atc_daytona_create(g.d, &spec, sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    rc = atc_daytona_wait_started(g.d, sb, 30000, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb->state, "started");
}

static void drop_sandbox(struct atc_sandbox *sb)
{
    int rc = atc_daytona_delete(g.d, sb->id, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
}

static int setup(void **state)
{
    /* Sandboxes start a little after create answers, so wait_started polls. */
    static const char *const args[] = {"--create-state", "starting", "--start-delay-ms", "300",
                                       NULL};
    return test_daytona_up(&g, args);
}

static int teardown(void **state)
{
    test_daytona_down(&g);
    return 0;
}

/* ---- against daytona-local ---------------------------------------------------- */

static void toolbox_url__keeps_the_api_scheme_and_host(void **state)
{
    const char *api = "https://app.daytona.io/api";
    (void)state;
    assert_true(atc_daytona_url_same_site(api, "https://proxy.app.daytona.io/toolbox"));
    assert_true(atc_daytona_url_same_site(api, "https://APP.daytona.io:8443/toolbox"));
    assert_false(atc_daytona_url_same_site(api, "http://proxy.app.daytona.io/toolbox"));
    assert_false(atc_daytona_url_same_site(api, "https://evil.example/toolbox"));
    assert_false(atc_daytona_url_same_site(api, "https://evilapp.daytona.io/toolbox"));
    assert_false(atc_daytona_url_same_site(api, "https://app.daytona.io.evil.example/x"));
    assert_false(atc_daytona_url_same_site(api, "https://app.daytona.io@evil.example/x"));
    assert_true(atc_daytona_url_same_site("http://127.0.0.1:3000/api",
                                          "http://127.0.0.1:3001/toolbox"));
    assert_false(atc_daytona_url_same_site("http://127.0.0.1:3000/api",
                                           "http://127.0.0.2:3000/toolbox"));
}

static void round_trip__create_upload_exec_download_delete__leaves_nothing_behind(void **state)
{
    struct atc_sandbox sb;
    struct atc_kv labels[] = {{"atc-test", "round-trip"}};
    static unsigned char bin[] = {'a', 0, 'b', 0xff, '\n'};
    struct atc_job_file files[] = {
        {"hello.py", (unsigned char *)"print('hi from', 'sandbox')\n", 28},
        {"sub/dir/data.bin", bin, sizeof(bin)},
    };
    int code = -1, trunc = -1;
    char *out = NULL, *data = NULL;
    size_t outlen = 0, len = 0;

    struct atc_sandbox_spec spec = {.labels = labels, .nlabels = 1, .auto_stop_min = -1,
                                    .auto_delete_min = -1};
    int rc = atc_daytona_create(g.d, &spec, &sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.state, "starting");
    rc = atc_daytona_wait_started(g.d, &sb, 30000, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.state, "started");
    assert_true(strlen(sb.id) > 0);
    assert_non_null(strstr(sb.toolbox_url, sb.id));

    rc = atc_daytona_upload(g.d, &sb, files, 2, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);

    struct atc_kv env[] = {{"ATC_GREETING", "howdy"}};
    rc = atc_daytona_exec(g.d, &sb, "python3 hello.py && echo $ATC_GREETING && "
                          "echo to-stderr 1>&2 && cp hello.py out.txt",
                          NULL, env, 1, 30, 65536, &code, &out, &outlen, &trunc, err,
                          sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(code, 0);
    assert_int_equal(trunc, 0);
    assert_int_equal(outlen, strlen(out));
    assert_non_null(strstr(out, "hi from sandbox\n"));
    assert_non_null(strstr(out, "howdy\n"));
    assert_non_null(strstr(out, "to-stderr\n"));
    free(out);

    rc = atc_daytona_download(g.d, &sb, "out.txt", 1 << 20, &data, &len, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(len, files[0].len);
    assert_memory_equal(data, files[0].data, len);
    assert_int_equal(data[len], '\0');
    free(data);

    rc = atc_daytona_download(g.d, &sb, "sub/dir/data.bin", 1 << 20, &data, &len, err,
                              sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(data, bin, sizeof(bin));
    free(data);

    /* A file larger than the caller accepts is refused. */
    rc = atc_daytona_download(g.d, &sb, "hello.py", 4, &data, &len, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ETOOBIG, err);
    assert_null(data);

    drop_sandbox(&sb);
    assert_int_equal(stats_live(), 0);
}

static void exec__failing_command__reports_its_exit_code(void **state)
{
    struct atc_sandbox sb;
    int code = -1, trunc = -1;
    char *out = NULL;
    size_t outlen = 0;

    make_sandbox(&sb, NULL, 0);
    int rc = atc_daytona_exec(g.d, &sb, "echo before; exit 3", NULL, NULL, 0, 30, 65536,
                              &code, &out, &outlen, &trunc, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(code, 3);
    assert_string_equal(out, "before\n");
    free(out);
    drop_sandbox(&sb);
}

static void exec__past_its_timeout__is_etimedout(void **state)
{
    struct atc_sandbox sb;
    int code = -1, trunc = -1;
    char *out = NULL;
    size_t outlen = 0;

    make_sandbox(&sb, NULL, 0);
    int rc = atc_daytona_exec(g.d, &sb, "sleep 30", NULL, NULL, 0, 1, 65536, &code, &out,
                              &outlen, &trunc, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ETIMEDOUT, err);
    assert_int_equal(atc_daytona_last(g.d)->http_status, 408);
    assert_null(out);
    assert_non_null(strstr(err, "408"));
    drop_sandbox(&sb);
}

static void exec__output_beyond_max__is_capped_head_and_tail(void **state)
{
    struct atc_sandbox sb;
    int code = -1, trunc = -1;
    char *out = NULL;
    size_t outlen = 0;

    make_sandbox(&sb, NULL, 0);
    int rc = atc_daytona_exec(g.d, &sb,
                              "echo START; head -c 200000 /dev/zero | tr '\\0' x; echo; echo END",
                              NULL, NULL, 0, 30, 1000, &code, &out, &outlen, &trunc, err,
                              sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(code, 0);
    assert_int_equal(trunc, 1);
    assert_int_equal(outlen, 1000);
    assert_int_equal(strlen(out), 1000);
    assert_int_equal(strncmp(out, "START\n", 6), 0);
    assert_non_null(strstr(out, ATC_OUTPUT_CUT_MARK));
    assert_string_equal(out + outlen - 4, "END\n");
    free(out);
    drop_sandbox(&sb);
}

static void wrong_key__is_eauth__and_the_message_hides_the_key(void **state)
{
    const char *key = "wrong-key-0123456789";
    struct atc_daytona_opts o = {.api_url = g.url, .api_key = key};
    struct atc_sandbox sb;
    struct atc_sandbox_spec spec = {.auto_stop_min = -1, .auto_delete_min = -1};
    char e[256];

    struct atc_daytona *bad = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(bad);
    int rc = atc_daytona_create(bad, &spec, &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_EAUTH, err);
    assert_int_equal(atc_daytona_last(bad)->http_status, 401);
    assert_non_null(strstr(err, "POST /sandbox: HTTP 401"));
    assert_null(strstr(err, key));
    atc_daytona_destroy(bad);
}

static void get_and_download__of_unknown__are_enotfound(void **state)
{
    struct atc_sandbox sb, other;
    char *data = NULL;
    size_t len = 0;

    int rc = atc_daytona_get(g.d, "no-such-sandbox", &other, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ENOTFOUND, err);
    assert_non_null(strstr(err, "GET /sandbox/no-such-sandbox: HTTP 404"));

    make_sandbox(&sb, NULL, 0);
    rc = atc_daytona_download(g.d, &sb, "not/there.txt", 1 << 20, &data, &len, err,
                              sizeof(err));
    assert_int_equal_msg(rc, ATC_ENOTFOUND, err);
    assert_null(data);
    drop_sandbox(&sb);

    /* The sandbox is gone now, so its toolbox is too. */
    rc = atc_daytona_download(g.d, &sb, "out.txt", 1 << 20, &data, &len, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ENOTFOUND, err);
}

static void delete__of_unknown__succeeds(void **state)
{
    int rc = atc_daytona_delete(g.d, "no-such-sandbox", err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(atc_daytona_last(g.d)->http_status, 404);
}

static void injected_429__is_eratelimit__with_retry_after(void **state)
{
    struct atc_sandbox sb;
    struct atc_sandbox_spec spec = {.auto_stop_min = -1, .auto_delete_min = -1};

    inject("{\"next\":[{\"status\":429,\"retry_after\":3}]}");
    int rc = atc_daytona_create(g.d, &spec, &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ERATELIMIT, err);
    assert_int_equal(atc_daytona_last(g.d)->http_status, 429);
    assert_true(atc_daytona_last(g.d)->retry_after_s == 3.0);
    assert_non_null(strstr(err, "POST /sandbox: HTTP 429"));
    assert_int_equal(stats_live(), 0);
}

static void injected_500__is_eserver(void **state)
{
    struct atc_sandbox sb;

    inject("{\"next\":[{\"status\":500}]}");
    int rc = atc_daytona_get(g.d, "whatever", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ESERVER, err);
    assert_int_equal(atc_daytona_last(g.d)->http_status, 500);
}

static void dropped_connection__is_econn(void **state)
{
    struct atc_sandbox sb;
    char e[256];

    /* A fresh handle, so the request opens a new connection: on a reused one
     * libcurl itself retries once when the server closes without a word. */
    struct atc_daytona_opts o = {.api_url = g.url, .api_key = TEST_KEY};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    inject("{\"next\":[{\"kind\":\"drop\"}]}");
    int rc = atc_daytona_get(d, "whatever", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ECONN, err);
    assert_int_equal(atc_daytona_last(d)->http_status, 0);
    /* The handle recovers: the next call works on a new connection. */
    rc = atc_daytona_delete(d, "whatever", err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    atc_daytona_destroy(d);
}

static void hanging_server__past_the_request_deadline__is_etimedout(void **state)
{
    struct atc_sandbox sb;
    char e[256];

    struct atc_daytona_opts o = {.api_url = g.url, .api_key = TEST_KEY,
                                 .request_timeout_ms = 300};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    inject("{\"next\":[{\"kind\":\"hang\",\"hang_ms\":2000}]}");
    int rc = atc_daytona_get(d, "whatever", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ETIMEDOUT, err);
    assert_int_equal(atc_daytona_last(d)->http_status, 0);
    atc_daytona_destroy(d);
}

/* A stop test that says stop from its n-th call on. */
struct stopper {
    int calls;
    int from;
};

static int stop_after(void *arg)
{
    struct stopper *s = arg;
    return ++s->calls >= s->from;
}

static void stop_test__aborts_a_hanging_request_and_sends_nothing_after(void **state)
{
    struct atc_sandbox sb;
    char e[256];
    struct stopper st = {.from = 3};

    /* No deadline of its own: only the stop test can end this wait early, and
     * the hang is dropped after 5 s (which would be ATC_ECONN). */
    struct atc_daytona_opts o = {.api_url = g.url, .api_key = TEST_KEY,
                                 .request_timeout_ms = 60000};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    inject("{\"next\":[{\"kind\":\"hang\",\"hang_ms\":5000}]}");
    atc_daytona_set_stop(d, stop_after, &st);
    int rc = atc_daytona_get(d, "whatever", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ECANCELED, err);
    assert_true(st.calls >= 3);
    /* Stopped: the next call is not even sent. */
    long long before = stats_requests();
    rc = atc_daytona_delete(d, "whatever", err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ECANCELED, err);
    assert_int_equal(stats_requests(), before + 1); /* the first stats call only */
    atc_daytona_destroy(d);
}

static void flag_after_call(void *arg, const char *endpoint, long http_status)
{
    (void)endpoint;
    (void)http_status;
    *(int *)arg = 1;
}

static int flag_set(void *arg)
{
    return *(int *)arg;
}

static void stop_test__ends_the_wait_between_polls_of_a_starting_sandbox(void **state)
{
    struct atc_sandbox sb;
    char e[256];
    int polled = 0;
    struct atc_sandbox_spec spec = {.auto_stop_min = -1, .auto_delete_min = -1};

    int rc = atc_daytona_create(g.d, &spec, &sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    /* The first poll is answered 503 (a poll wait_started rides out): after it
     * the stop test says stop, which only the wait between polls can see. */
    struct atc_daytona_opts o = {.api_url = g.url, .api_key = TEST_KEY,
                                 .on_call = flag_after_call, .on_call_arg = &polled};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    atc_daytona_set_stop(d, flag_set, &polled);
    inject("{\"next\":[{\"path_prefix\":\"/api/sandbox/\",\"method\":\"GET\",\"status\":503}]}");
    snprintf(sb.state, sizeof(sb.state), "starting");
    rc = atc_daytona_wait_started(d, &sb, 60000, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ECANCELED, err);
    assert_non_null(strstr(err, "waiting for it to start"));
    atc_daytona_destroy(d);
    drop_sandbox(&sb);
}

static void connection_refused__is_econn(void **state)
{
    char url[128], e[256];
    struct atc_sandbox sb;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api", test_free_port());
    struct atc_daytona_opts o = {.api_url = url, .api_key = TEST_KEY};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    int rc = atc_daytona_get(d, "x", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_ECONN, err);
    assert_int_equal(atc_daytona_last(d)->http_status, 0);
    assert_null(strstr(err, TEST_KEY));
    atc_daytona_destroy(d);
}

static void list__by_labels__finds_exactly_the_labelled_sandboxes(void **state)
{
    char run[64];
    struct atc_sandbox sb[3];
    struct atc_sandbox_item *items = NULL;
    size_t n = 0;

    snprintf(run, sizeof(run), "list-%d", (int)getpid());
    struct atc_kv mine[] = {{"atc-test", "list"}, {"atc-run", run}};
    struct atc_kv other[] = {{"atc-test", "list"}, {"atc-run", "someone-else"}};
    make_sandbox(&sb[0], mine, 2);
    make_sandbox(&sb[1], other, 2);
    make_sandbox(&sb[2], mine, 2);

    int rc = atc_daytona_list(g.d, mine, 2, &items, &n, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(n, 2);
    int found0 = 0, found2 = 0;
    for (size_t i = 0; i < n; i++) {
        found0 += strcmp(items[i].id, sb[0].id) == 0;
        found2 += strcmp(items[i].id, sb[2].id) == 0;
        assert_true(items[i].created_ms > 1700000000000LL);
        assert_true(items[i].state[0] != '\0');
    }
    assert_int_equal(found0, 1);
    assert_int_equal(found2, 1);
    free(items);

    for (int i = 0; i < 3; i++)
        drop_sandbox(&sb[i]);
    rc = atc_daytona_list(g.d, mine, 2, &items, &n, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(items[i].state, "started");
    free(items);
    assert_int_equal(stats_live(), 0);
}


/* ---- against a canned server: replies daytona-local does not give ------------- */

/* A one-thread server on 127.0.0.1 that answers each connection's request with
 * the next canned reply (then closes), and keeps what it was sent. */
struct canned {
    int fd;
    int port;
    pthread_t thread;
    const char *replies[8];
    int nreplies;
    char requests[8][8192];
    int nrequests;
};

static void *canned_run(void *arg)
{
    struct canned *c = arg;
    for (int i = 0; i < c->nreplies; i++) {
        int conn = accept(c->fd, NULL, NULL);
        if (conn < 0)
            break;
        char *req = c->requests[i];
        size_t got = 0;
        /* Read the head, then Content-Length bytes of body. */
        for (;;) {
            ssize_t r = read(conn, req + got, sizeof(c->requests[i]) - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            req[got] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            if (end == NULL)
                continue;
            char *cl = strcasestr(req, "Content-Length:");
            size_t want = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
            if (got >= (size_t)(end + 4 - req) + want || got + 1 >= sizeof(c->requests[i]))
                break;
        }
        c->nrequests = i + 1;
        const char *rep = c->replies[i];
        size_t n = strlen(rep);
        while (n > 0) {
            ssize_t w = write(conn, rep, n);
            if (w <= 0)
                break;
            rep += w;
            n -= (size_t)w;
        }
        close(conn);
    }
    return NULL;
}

static void canned_start(struct canned *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&sa, &sl), 0);
    assert_int_equal(listen(c->fd, 8), 0);
    c->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&c->thread, NULL, canned_run, c), 0);
}

static void canned_stop(struct canned *c)
{
    shutdown(c->fd, SHUT_RDWR);
    pthread_join(c->thread, NULL);
    close(c->fd);
}

static struct atc_daytona *canned_client(struct canned *c, const char *target)
{
    char url[128], e[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/", c->port);
    struct atc_daytona_opts o = {.api_url = url, .api_key = "canned-key-1234", .target = target};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    return d;
}

static const char *reply(char *buf, size_t buflen, const char *status, const char *extra,
                         const char *body)
{
    snprintf(buf, buflen,
             "HTTP/1.1 %s\r\nConnection: close\r\nContent-Type: application/json\r\n%s"
             "Content-Length: %zu\r\n\r\n%s",
             status, extra, strlen(body), body);
    return buf;
}

static void create__request_and_missing_toolbox_url__are_handled(void **state)
{
    struct canned c = {0};
    char r0[512], r1[512];
    struct atc_sandbox sb;
    struct atc_kv labels[] = {{"atc-job", "j1"}};
    struct atc_kv env[] = {{"A", "b"}};
    struct atc_sandbox_spec spec = {.name = "n1", .snapshot = "snap", .labels = labels,
                                    .nlabels = 1, .env = env, .nenv = 1, .auto_stop_min = 5,
                                    .auto_delete_min = 0, .network_block_all = 1};

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "{\"id\":\"sb-1\",\"state\":\"started\"}");
    c.replies[1] = reply(r1, sizeof(r1), "200 OK", "", "{\"url\":\"http://127.0.0.1:1/toolbox/\"}");
    c.nreplies = 2;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, "eu");
    int rc = atc_daytona_create(d, &spec, &sb, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.id, "sb-1");
    assert_string_equal(sb.toolbox_url, "http://127.0.0.1:1/toolbox/sb-1");
    assert_int_equal(c.nrequests, 2);
    assert_int_equal(strncmp(c.requests[0], "POST /api/sandbox HTTP/1.1\r\n", 28), 0);
    assert_non_null(strstr(c.requests[0], "Authorization: Bearer canned-key-1234\r\n"));
    assert_non_null(strstr(c.requests[0], "X-Daytona-Source: atc-fleet\r\n"));
    assert_non_null(strstr(c.requests[0], "Content-Type: application/json\r\n"));
    assert_non_null(strstr(c.requests[0], "User-Agent: atc-fleet\r\n"));
    /* A create's answer is small: no compression asked (header bytes cost CPU). */
    assert_null(strcasestr(c.requests[0], "Accept-Encoding"));
    json_t *body = json_loads(strstr(c.requests[0], "\r\n\r\n") + 4, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "name")), "n1");
    assert_string_equal(json_string_value(json_object_get(body, "snapshot")), "snap");
    assert_string_equal(json_string_value(json_object_get(body, "target")), "eu");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "labels"), "atc-job")), "j1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "env"), "A")),
                        "b");
    assert_int_equal(json_integer_value(json_object_get(body, "autoStopInterval")), 5);
    assert_int_equal(json_integer_value(json_object_get(body, "autoDeleteInterval")), 0);
    assert_true(json_is_true(json_object_get(body, "networkBlockAll")));
    json_decref(body);
    assert_int_equal(strncmp(c.requests[1], "GET /api/sandbox/sb-1/toolbox-proxy-url ", 40), 0);
    atc_daytona_destroy(d);
}

static struct atc_sandbox canned_sb(struct canned *c)
{
    struct atc_sandbox sb = {.id = "sb-1", .state = "started"};
    snprintf(sb.toolbox_url, sizeof(sb.toolbox_url), "http://127.0.0.1:%d/toolbox/sb-1",
             c->port);
    return sb;
}

static void exec__old_daemon_code_field__is_read_as_exit_code(void **state)
{
    struct canned c = {0};
    char r0[512], r1[512];
    int code = -1, trunc = -1;
    char *out = NULL;
    size_t len = 0;

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "{\"code\":5,\"result\":\"old\\n\"}");
    c.replies[1] = reply(r1, sizeof(r1), "200 OK", "", "{\"result\":\"no code\"}");
    c.nreplies = 2;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    struct atc_sandbox sb = canned_sb(&c);
    struct atc_kv env[] = {{"K", "V"}};
    int rc = atc_daytona_exec(d, &sb, "ls", "sub", env, 1, 7, 100, &code, &out, &len, &trunc,
                              err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(code, 5);
    assert_string_equal(out, "old\n");
    free(out);
    rc = atc_daytona_exec(d, &sb, "ls", NULL, NULL, 0, 7, 100, &code, &out, &len, &trunc, err,
                          sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, ATC_EPROTO, err);
    assert_null(out);
    assert_int_equal(strncmp(c.requests[0], "POST /toolbox/sb-1/process/execute ", 35), 0);
    /* An exec's answer carries the output: it may come gzip'd. */
    assert_non_null(strstr(c.requests[0], "Accept-Encoding: gzip\r\n"));
    json_t *body = json_loads(strstr(c.requests[0], "\r\n\r\n") + 4, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "command")), "ls");
    assert_string_equal(json_string_value(json_object_get(body, "cwd")), "sub");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "envs"), "K")),
                        "V");
    assert_int_equal(json_integer_value(json_object_get(body, "timeout")), 7);
    json_decref(body);
    atc_daytona_destroy(d);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* One handle, never reset: each request sets its method, body and headers
 * afresh, so nothing of a POST leaks into the GET or DELETE after it. */
static void one_handle__post_get_delete_post__each_request_is_its_own(void **state)
{
    struct canned c = {0};
    char r0[512], r1[512], r2[512], r3[512];
    struct atc_sandbox sb;
    struct atc_sandbox_spec spec = {.name = "n1"};
    int code = -1, trunc = -1;
    char *out = NULL;
    size_t len = 0;

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "",
                         "{\"id\":\"sb-1\",\"state\":\"started\","
                         "\"toolboxProxyUrl\":\"http://127.0.0.1:1/toolbox\"}");
    c.replies[1] = reply(r1, sizeof(r1), "200 OK", "",
                         "{\"id\":\"sb-1\",\"state\":\"started\","
                         "\"toolboxProxyUrl\":\"http://127.0.0.1:1/toolbox\"}");
    c.replies[2] = reply(r2, sizeof(r2), "200 OK", "", "{}");
    c.replies[3] = reply(r3, sizeof(r3), "200 OK", "", "{\"exitCode\":0,\"result\":\"ok\"}");
    c.nreplies = 4;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    assert_int_equal_msg(atc_daytona_create(d, &spec, &sb, err, sizeof(err)), 0, err);
    assert_int_equal_msg(atc_daytona_get(d, "sb-1", &sb, err, sizeof(err)), 0, err);
    assert_int_equal_msg(atc_daytona_delete(d, "sb-1", err, sizeof(err)), 0, err);
    struct atc_sandbox tb = canned_sb(&c);
    int rc = atc_daytona_exec(d, &tb, "true", NULL, NULL, 0, 5, 100, &code, &out, &len, &trunc,
                              err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    free(out);
    assert_int_equal(c.nrequests, 4);
    assert_true(starts_with(c.requests[0], "POST /api/sandbox HTTP/1.1\r\n"));
    assert_non_null(strcasestr(c.requests[0], "Content-Length:"));
    assert_true(starts_with(c.requests[1], "GET /api/sandbox/sb-1 HTTP/1.1\r\n"));
    assert_true(starts_with(c.requests[2], "DELETE /api/sandbox/sb-1 HTTP/1.1\r\n"));
    for (int i = 1; i <= 2; i++) {
        assert_null(strcasestr(c.requests[i], "Content-Length:"));
        assert_null(strcasestr(c.requests[i], "Content-Type:"));
        assert_null(strcasestr(c.requests[i], "Accept-Encoding:"));
        assert_string_equal(strstr(c.requests[i], "\r\n\r\n"), "\r\n\r\n");
    }
    assert_true(starts_with(c.requests[3], "POST /toolbox/sb-1/process/execute HTTP/1.1\r\n"));
    assert_non_null(strstr(c.requests[3], "Accept-Encoding: gzip\r\n"));
    assert_non_null(strstr(c.requests[3], "Content-Type: application/json\r\n"));
    atc_daytona_destroy(d);
}

/* The client skips curl's per-request proxy look-up only when no proxy
 * variable is set when it is made: with one set, requests go through it. */
static void proxy_variable__set_before_the_client__still_carries_the_requests(void **state)
{
    struct canned c = {0};
    char r0[512], proxy[64], e[256];

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "",
                         "{\"id\":\"sb-9\",\"state\":\"started\","
                         "\"toolboxProxyUrl\":\"http://tb.api.invalid/toolbox\"}");
    c.nreplies = 1;
    canned_start(&c);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", c.port);
    setenv("http_proxy", proxy, 1);
    /* Nothing listens on the API's own address: only the proxy can answer. */
    struct atc_daytona_opts o = {.api_url = "http://api.invalid:1/api", .api_key = "k-1"};
    struct atc_daytona *d = atc_daytona_new(&o, e, sizeof(e));
    assert_non_null(d);
    struct atc_sandbox sb;
    int rc = atc_daytona_get(d, "sb-9", &sb, err, sizeof(err));
    unsetenv("http_proxy");
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(c.nrequests, 1);
    assert_int_equal(strncmp(c.requests[0], "GET http://api.invalid:1/api/sandbox/sb-9 ", 42), 0);
    atc_daytona_destroy(d);
}

static void rate_limit__largest_retry_after_header__wins(void **state)
{
    struct canned c = {0};
    char r0[512];
    struct atc_sandbox sb;

    c.replies[0] = reply(r0, sizeof(r0), "429 Too Many Requests",
                         "Retry-After: 2\r\nRetry-After-sandbox-create: 10\r\n"
                         "retry-after-authenticated: 3\r\nX-RateLimit-Reset-x: 99\r\n",
                         "{\"statusCode\":429,\"message\":\"ThrottlerException: Too Many "
                         "Requests\",\"code\":\"RATE\"}");
    c.nreplies = 1;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    int rc = atc_daytona_get(d, "sb-1", &sb, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, ATC_ERATELIMIT, err);
    assert_true(atc_daytona_last(d)->retry_after_s == 10.0);
    assert_string_equal(atc_daytona_last(d)->code, "RATE");
    assert_string_equal(err, "GET /sandbox/sb-1: HTTP 429: ThrottlerException: Too Many Requests");
    atc_daytona_destroy(d);
}

static void replies__not_json_or_conflict__are_eproto_and_econflict(void **state)
{
    struct canned c = {0};
    char r0[512], r1[512];
    struct atc_sandbox sb;

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "<html>hello</html>");
    c.replies[1] = reply(r1, sizeof(r1), "409 Conflict", "",
                         "{\"message\":\"Sandbox state change in progress\"}");
    c.nreplies = 2;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    int rc = atc_daytona_get(d, "sb-1", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, ATC_EPROTO, err);
    rc = atc_daytona_delete(d, "sb-1", err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, ATC_ECONFLICT, err);
    assert_string_equal(err, "DELETE /sandbox/sb-1: HTTP 409: Sandbox state change in progress");
    assert_int_equal(strncmp(c.requests[1], "DELETE /api/sandbox/sb-1 ", 25), 0);
    atc_daytona_destroy(d);
}

static void get__labels_atc_job_and_atc_fleet__are_exposed(void **state)
{
    struct canned c = {0};
    char r[4][1024];
    struct atc_sandbox sb;

    c.replies[0] = reply(r[0], sizeof(r[0]), "200 OK", "",
                         "{\"id\":\"sb-1\",\"state\":\"started\",\"toolboxProxyUrl\":\"http://127.0.0.1:1/x\","
                         "\"labels\":{\"other\":{\"atc-job\":\"no\"},\"atc-job\":\"j\\u00e9-1\","
                         "\"atc-fleet\":\"g1\"}}");
    /* Not strings, a NUL inside, too long: read as absent. */
    c.replies[1] = reply(r[1], sizeof(r[1]), "200 OK", "",
                         "{\"id\":\"sb-2\",\"toolboxProxyUrl\":\"http://127.0.0.1:1/x\","
                         "\"labels\":{\"atc-job\":\"victim\\u0000x\",\"atc-fleet\":7}}");
    c.replies[2] = reply(r[2], sizeof(r[2]), "200 OK", "",
                         "{\"id\":\"sb-3\",\"toolboxProxyUrl\":\"http://127.0.0.1:1/x\",\"labels\":["
                         "\"atc-job\",\"victim\"],\"atc-job\":\"victim\"}");
    char big[400];
    memset(big, 'a', 300);
    big[300] = '\0';
    char body[900];
    snprintf(body, sizeof(body),
             "{\"id\":\"sb-4\",\"toolboxProxyUrl\":\"http://127.0.0.1:1/x\",\"labels\":{\"atc-job\":\"%s\","
             "\"atc-fleet\":\"%s\"}}", big, big);
    c.replies[3] = reply(r[3], sizeof(r[3]), "200 OK", "", body);
    c.nreplies = 4;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    int rc = atc_daytona_get(d, "sb-1", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.job_label, "j\xc3\xa9-1");
    assert_string_equal(sb.fleet_label, "g1");
    rc = atc_daytona_get(d, "sb-2", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.job_label, "");
    assert_string_equal(sb.fleet_label, "");
    rc = atc_daytona_get(d, "sb-3", &sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.job_label, "");
    rc = atc_daytona_get(d, "sb-4", &sb, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    assert_string_equal(sb.job_label, "");
    assert_string_equal(sb.fleet_label, "");
    atc_daytona_destroy(d);
}

static void create__unusable_reply_with_an_id__keeps_the_id_for_cleanup(void **state)
{
    struct canned c = {0};
    char r0[512];
    struct atc_sandbox sb;
    struct atc_sandbox_spec spec = {.name = "n1", .auto_stop_min = -1, .auto_delete_min = -1};

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "",
                         "{\"id\":\"sb-9\",\"state\":\"started\",\"toolboxProxyUrl\":\"ftp://x/\"}");
    c.nreplies = 1;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    int rc = atc_daytona_create(d, &spec, &sb, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, ATC_EPROTO, err);
    /* The service made it: the caller needs the id to delete it. */
    assert_string_equal(sb.id, "sb-9");
    atc_daytona_destroy(d);
}

static void list__follows_next_cursor_across_pages(void **state)
{
    struct canned c = {0};
    char r0[512], r1[512];
    struct atc_sandbox_item *items = NULL;
    size_t n = 0;
    struct atc_kv labels[] = {{"atc-fleet", "g"}};

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "",
                         "{\"items\":[{\"id\":\"a\",\"state\":\"started\",\"createdAt\":"
                         "\"2026-06-20T10:00:00.000Z\"},{\"state\":\"no id\"}],"
                         "\"nextCursor\":\"c/2\"}");
    c.replies[1] = reply(r1, sizeof(r1), "200 OK", "",
                         "{\"items\":[{\"id\":\"b\",\"state\":\"stopped\"}],\"nextCursor\":null}");
    c.nreplies = 2;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    int rc = atc_daytona_list(d, labels, 1, &items, &n, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].id, "a");
    assert_int_equal(items[0].created_ms, 1781949600000LL);
    assert_string_equal(items[1].id, "b");
    assert_string_equal(items[1].state, "stopped");
    assert_int_equal(items[1].created_ms, 0);
    free(items);
    assert_non_null(strstr(c.requests[0],
                           "GET /api/sandbox?labels=%7B%22atc-fleet%22%3A%22g%22%7D&limit=200 "));
    assert_non_null(strstr(c.requests[1], "&limit=200&cursor=c%2F2 "));
    atc_daytona_destroy(d);
}

static void upload__sends_path_then_file_parts(void **state)
{
    struct canned c = {0};
    char r0[512];
    struct atc_job_file files[] = {{"t/test_a.py", (unsigned char *)"assert 1\n", 9}};

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "{\"files\":[]}");
    c.nreplies = 1;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    struct atc_sandbox sb = canned_sb(&c);
    int rc = atc_daytona_upload(d, &sb, files, 1, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    const char *q = c.requests[0];
    assert_int_equal(strncmp(q, "POST /toolbox/sb-1/files/bulk-upload ", 37), 0);
    const char *p = strstr(q, "name=\"files[0].path\"\r\n\r\nt/test_a.py\r\n");
    const char *f = strstr(q, "name=\"files[0].file\"; filename=\"t/test_a.py\"\r\n"
                              "Content-Type: application/octet-stream\r\n\r\nassert 1\n\r\n");
    assert_non_null(p);
    assert_non_null(f);
    assert_true(p < f);
    atc_daytona_destroy(d);
}

static void exec__request_body__escapes_strings_and_keeps_the_last_duplicate_env_key(void **state)
{
    struct canned c = {0};
    char r0[512];
    int code = -1, trunc = -1;
    char *out = NULL;
    size_t len = 0;
    const char *cmd = "echo \"a\\b\" \x01\t\xc3\xa9/";

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "{\"exitCode\":0,\"result\":\"\"}");
    c.nreplies = 1;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    struct atc_sandbox sb = canned_sb(&c);
    struct atc_kv env[] = {{"K", "first"}, {"L", "l\n"}, {"K", "last"}};
    int rc = atc_daytona_exec(d, &sb, cmd, NULL, env, 3, 0, 100, &code, &out, &len, &trunc,
                              err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    free(out);
    json_t *body = json_loads(strstr(c.requests[0], "\r\n\r\n") + 4, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "command")), cmd);
    json_t *envs = json_object_get(body, "envs");
    assert_int_equal(json_object_size(envs), 2);
    assert_string_equal(json_string_value(json_object_get(envs, "K")), "last");
    assert_string_equal(json_string_value(json_object_get(envs, "L")), "l\n");
    assert_null(json_object_get(body, "cwd"));
    assert_null(json_object_get(body, "timeout"));
    json_decref(body);
    atc_daytona_destroy(d);
}

static void create__non_utf8_label__is_einval_and_sends_nothing(void **state)
{
    struct canned c = {0};
    char r0[512];
    struct atc_sandbox sb;
    struct atc_kv labels[] = {{"atc-job", "bad\xff"}};
    struct atc_sandbox_spec spec = {.name = "n1", .labels = labels, .nlabels = 1,
                                    .auto_stop_min = -1, .auto_delete_min = -1};

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "{\"id\":\"sb-1\",\"state\":\"started\"}");
    c.nreplies = 1;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    int rc = atc_daytona_create(d, &spec, &sb, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, ATC_EINVAL, err);
    assert_int_equal(c.nrequests, 0);
    atc_daytona_destroy(d);
}

static void upload__quote_and_line_break_in_a_path__are_percent_escaped_in_the_filename(void **state)
{
    struct canned c = {0};
    char r0[512];
    struct atc_job_file files[] = {{"a\"b\n.py", (unsigned char *)"x", 1}};

    c.replies[0] = reply(r0, sizeof(r0), "200 OK", "", "{\"files\":[]}");
    c.nreplies = 1;
    canned_start(&c);
    struct atc_daytona *d = canned_client(&c, NULL);
    struct atc_sandbox sb = canned_sb(&c);
    int rc = atc_daytona_upload(d, &sb, files, 1, err, sizeof(err));
    canned_stop(&c);
    assert_int_equal_msg(rc, 0, err);
    assert_non_null(strstr(c.requests[0], "; filename=\"a%22b%0A.py\"\r\n"));
    assert_non_null(strstr(c.requests[0], "Content-Type: multipart/form-data; boundary="));
    atc_daytona_destroy(d);
}

/* ---- pure parts ------------------------------------------------------------- */

static void status_code__maps_every_class(void **state)
{
    assert_int_equal(atc_dhttp_status_code(200), 0);
    assert_int_equal(atc_dhttp_status_code(204), 0);
    assert_int_equal(atc_dhttp_status_code(400), ATC_EPROTO);
    assert_int_equal(atc_dhttp_status_code(401), ATC_EAUTH);
    assert_int_equal(atc_dhttp_status_code(403), ATC_EAUTH);
    assert_int_equal(atc_dhttp_status_code(404), ATC_ENOTFOUND);
    assert_int_equal(atc_dhttp_status_code(408), ATC_ETIMEDOUT);
    assert_int_equal(atc_dhttp_status_code(409), ATC_ECONFLICT);
    assert_int_equal(atc_dhttp_status_code(429), ATC_ERATELIMIT);
    assert_int_equal(atc_dhttp_status_code(500), ATC_ESERVER);
    assert_int_equal(atc_dhttp_status_code(503), ATC_ESERVER);
    assert_int_equal(atc_dhttp_status_code(302), ATC_EPROTO);
    assert_int_equal(atc_dhttp_curl_code(CURLE_COULDNT_CONNECT), ATC_ECONN);
    assert_int_equal(atc_dhttp_curl_code(CURLE_GOT_NOTHING), ATC_ECONN);
    assert_int_equal(atc_dhttp_curl_code(CURLE_PARTIAL_FILE), ATC_ECONN);
    assert_int_equal(atc_dhttp_curl_code(CURLE_RECV_ERROR), ATC_ECONN);
    assert_int_equal(atc_dhttp_curl_code(CURLE_OPERATION_TIMEDOUT), ATC_ETIMEDOUT);
}

static void date__imf_fixdate_and_obsolete_forms__are_read(void **state)
{
    long long ms = -1;
    /* RFC 9110's example, in its three forms: 784111777 s after the epoch. */
    const char *ok[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
                        "date:Sunday, 06-Nov-94 08:49:37 GMT\r\n",
                        "DATE: Sun Nov  6 08:49:37 1994\r\n"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ms = -1;
        assert_int_equal(atc_dhttp_date(ok[i], strlen(ok[i]), &ms), 1);
        assert_true(ms == 784111777000LL);
    }
}

static void date__junk_and_other_headers__are_ignored(void **state)
{
    long long ms = -5;
    const char *bad[] = {"Date: yesterday\r\n", "Date:\r\n", "Date: 784111777\r\n",
                         "X-Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
                         "Date-x: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
                         "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
                         "Date Sun, 06 Nov 1994 08:49:37 GMT\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(atc_dhttp_date(bad[i], strlen(bad[i]), &ms), 0);
    assert_true(ms == -5);
}

static void retry_after__plain_and_named_headers__are_read(void **state)
{
    double s = -1;
    const char *l1 = "Retry-After: 42\r\n";
    const char *l2 = "retry-after-sandbox-create:  7\r\n";
    const char *l3 = "Retry-After: 1.5\r\n";
    assert_int_equal(atc_dhttp_retry_after(l1, strlen(l1), &s), 1);
    assert_true(s == 42.0);
    assert_int_equal(atc_dhttp_retry_after(l2, strlen(l2), &s), 1);
    assert_true(s == 7.0);
    assert_int_equal(atc_dhttp_retry_after(l3, strlen(l3), &s), 1);
    assert_true(s == 1.5);
}

static void retry_after__junk_and_other_headers__are_ignored(void **state)
{
    double s = -5;
    const char *bad[] = {"Retry-After: soon\r\n", "Retry-After: 12abc\r\n",
                         "Retry-After:\r\n",       "Retry-After-: 3\r\n",
                         "Retry-Afterx: 3\r\n",    "X-RateLimit-Reset-x: 3\r\n",
                         "Retry-After: -3\r\n",    "Retry-After 3\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(atc_dhttp_retry_after(bad[i], strlen(bad[i]), &s), 0);
    assert_true(s == -5);
    const char *huge = "Retry-After: 99999999999999999999999\r\n";
    assert_int_equal(atc_dhttp_retry_after(huge, strlen(huge), &s), 1);
    assert_true(s == 86400.0);
    const char *past = "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n";
    assert_int_equal(atc_dhttp_retry_after(past, strlen(past), &s), 1);
    assert_true(s == 0.0);
}

static void iso8601__common_forms__give_epoch_ms(void **state)
{
    long long ms = 0;
    assert_int_equal(atc_dhttp_iso8601_ms("2026-06-20T10:00:00.000Z", &ms), 0);
    assert_int_equal(ms, 1781949600000LL);
    assert_int_equal(atc_dhttp_iso8601_ms("2026-06-20T10:00:00.25Z", &ms), 0);
    assert_int_equal(ms, 1781949600250LL);
    assert_int_equal(atc_dhttp_iso8601_ms("2026-06-20T12:00:00+02:00", &ms), 0);
    assert_int_equal(ms, 1781949600000LL);
    assert_int_equal(atc_dhttp_iso8601_ms("1970-01-01T00:00:01Z", &ms), 0);
    assert_int_equal(ms, 1000);
}

static void iso8601__malformed__is_rejected(void **state)
{
    long long ms = 7;
    const char *bad[] = {"", "2026-06-20", "2026-13-20T10:00:00Z", "2026-06-20T10:00:00Zjunk",
                         "2026-06-20T25:00:00Z", "2026-06-20T10:00:00.Z", "20260620T100000Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(atc_dhttp_iso8601_ms(bad[i], &ms), -1);
    assert_int_equal(atc_dhttp_iso8601_ms(NULL, &ms), -1);
    assert_int_equal(ms, 7);
}

static void http_error__json_body__gives_message_and_code(void **state)
{
    char code[64], e[256];
    const char *b = "{\"statusCode\":408,\"message\":\"command execution timeout\","
                    "\"code\":\"PROCESS_EXECUTION_TIMEOUT\"}";
    atc_dhttp_http_error("POST /x", 408, b, strlen(b), "k3y-secret", code, sizeof(code), e,
                         sizeof(e));
    assert_string_equal(e, "POST /x: HTTP 408: command execution timeout");
    assert_string_equal(code, "PROCESS_EXECUTION_TIMEOUT");

    const char *r = "{\"statusCode\":429,\"message\":\"Rate limit exceeded\","
                    "\"error\":\"Too Many Requests\"}";
    atc_dhttp_http_error("POST /sandbox", 429, r, strlen(r), NULL, code, sizeof(code), e,
                         sizeof(e));
    assert_string_equal(e, "POST /sandbox: HTTP 429: Rate limit exceeded");
    assert_string_equal(code, "");

    const char *u = "{\"errors\":[\"a.txt: create: denied\"],\"files\":[]}";
    atc_dhttp_http_error("POST /u", 400, u, strlen(u), NULL, code, sizeof(code), e, sizeof(e));
    assert_string_equal(e, "POST /u: HTTP 400: a.txt: create: denied");
}

static void http_error__empty_or_raw_body__still_reads_well(void **state)
{
    char code[64], e[256];
    atc_dhttp_http_error("GET /f", 404, "", 0, NULL, code, sizeof(code), e, sizeof(e));
    assert_string_equal(e, "GET /f: HTTP 404: not found");
    const char *raw = "<html>\x01" "bad\ngateway</html>";
    atc_dhttp_http_error("GET /f", 502, raw, strlen(raw), NULL, code, sizeof(code), e,
                         sizeof(e));
    assert_string_equal(e, "GET /f: HTTP 502: <html>?bad gateway</html>");
}

static void http_error__echoed_key__is_redacted(void **state)
{
    char code[64], e[256];
    const char *b = "{\"message\":\"bad token Bearer sekrit-key-42 (sekrit-key-42)\"}";
    atc_dhttp_http_error("GET /x", 401, b, strlen(b), "sekrit-key-42", code, sizeof(code), e,
                         sizeof(e));
    assert_null(strstr(e, "sekrit-key-42"));
    assert_string_equal(e, "GET /x: HTTP 401: bad token Bearer *** (***)");
}

int main(void)
{
    /* Once, before any handle exists (and before the canned server's thread). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(status_code__maps_every_class),
        cmocka_unit_test(toolbox_url__keeps_the_api_scheme_and_host),
        cmocka_unit_test(retry_after__plain_and_named_headers__are_read),
        cmocka_unit_test(date__imf_fixdate_and_obsolete_forms__are_read),
        cmocka_unit_test(date__junk_and_other_headers__are_ignored),
        cmocka_unit_test(retry_after__junk_and_other_headers__are_ignored),
        cmocka_unit_test(iso8601__common_forms__give_epoch_ms),
        cmocka_unit_test(iso8601__malformed__is_rejected),
        cmocka_unit_test(http_error__json_body__gives_message_and_code),
        cmocka_unit_test(http_error__empty_or_raw_body__still_reads_well),
        cmocka_unit_test(http_error__echoed_key__is_redacted),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(round_trip__create_upload_exec_download_delete__leaves_nothing_behind),
        cmocka_unit_test(exec__failing_command__reports_its_exit_code),
        cmocka_unit_test(exec__past_its_timeout__is_etimedout),
        cmocka_unit_test(exec__output_beyond_max__is_capped_head_and_tail),
        cmocka_unit_test(wrong_key__is_eauth__and_the_message_hides_the_key),
        cmocka_unit_test(get_and_download__of_unknown__are_enotfound),
        cmocka_unit_test(delete__of_unknown__succeeds),
        cmocka_unit_test(connection_refused__is_econn),
        cmocka_unit_test(list__by_labels__finds_exactly_the_labelled_sandboxes),
        cmocka_unit_test(injected_429__is_eratelimit__with_retry_after),
        cmocka_unit_test(injected_500__is_eserver),
        cmocka_unit_test(dropped_connection__is_econn),
        cmocka_unit_test(hanging_server__past_the_request_deadline__is_etimedout),
        cmocka_unit_test(stop_test__aborts_a_hanging_request_and_sends_nothing_after),
        cmocka_unit_test(stop_test__ends_the_wait_between_polls_of_a_starting_sandbox),
    };
    const struct CMUnitTest canned[] = {
        cmocka_unit_test(create__request_and_missing_toolbox_url__are_handled),
        cmocka_unit_test(exec__old_daemon_code_field__is_read_as_exit_code),
        cmocka_unit_test(one_handle__post_get_delete_post__each_request_is_its_own),
        cmocka_unit_test(proxy_variable__set_before_the_client__still_carries_the_requests),
        cmocka_unit_test(rate_limit__largest_retry_after_header__wins),
        cmocka_unit_test(replies__not_json_or_conflict__are_eproto_and_econflict),
        cmocka_unit_test(list__follows_next_cursor_across_pages),
        cmocka_unit_test(get__labels_atc_job_and_atc_fleet__are_exposed),
        cmocka_unit_test(create__unusable_reply_with_an_id__keeps_the_id_for_cleanup),
        cmocka_unit_test(upload__sends_path_then_file_parts),
        cmocka_unit_test(exec__request_body__escapes_strings_and_keeps_the_last_duplicate_env_key),
        cmocka_unit_test(create__non_utf8_label__is_einval_and_sends_nothing),
        cmocka_unit_test(upload__quote_and_line_break_in_a_path__are_percent_escaped_in_the_filename),
    };
    int failed = cmocka_run_group_tests_name("daytona_pure", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("daytona_canned", canned, NULL, NULL);
    failed += cmocka_run_group_tests_name("daytona_local", live, setup, teardown);
    curl_global_cleanup();
    return failed;
}
