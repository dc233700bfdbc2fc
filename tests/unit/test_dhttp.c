/* test_dhttp.c: the Daytona client's HTTP error sentences (common/src/daytona_http.c)
 * never show the API key, whole or cut. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "daytona_http.h"

#define KEY "dtn_0123456789abcdef0123456789abcdef"

static void http_error__key_in_the_body__is_hidden(void **state)
{
    char err[1024];
    const char body[] = "{\"message\":\"bad key " KEY ", try again\"}";
    atc_dhttp_http_error("GET /sandbox", 401, body, sizeof(body) - 1, KEY, NULL, 0, err,
                         sizeof(err));
    assert_null(strstr(err, "0123456789"));
    assert_non_null(strstr(err, "bad key ***, try again"));
}

static void http_error__key_cut_by_the_shortening__is_hidden(void **state)
{
    /* The message is shortened to 300 bytes: put the key across that cut. */
    for (size_t pad = 270; pad < 300; pad++) {
        char body[1024], err[1024];
        memset(body, 'x', pad);
        snprintf(body + pad, sizeof(body) - pad, "%s tail", KEY);
        atc_dhttp_http_error("GET /sandbox", 401, body, strlen(body), KEY, NULL, 0, err,
                             sizeof(err));
        if (strstr(err, "dtn_0123") != NULL)
            fail_msg("pad %zu: the key's start shows: %s", pad, err);
    }
}

static void http_error__error_buffer_cutting_the_key__is_hidden(void **state)
{
    char body[64];
    snprintf(body, sizeof(body), "%s", KEY);
    for (size_t errlen = 30; errlen < 80; errlen++) {
        char err[128];
        atc_dhttp_http_error("GET /x", 500, body, strlen(body), KEY, NULL, 0, err, errlen);
        if (strstr(err, "dtn_0123") != NULL)
            fail_msg("errlen %zu: the key's start shows: %s", errlen, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_error__key_in_the_body__is_hidden),
        cmocka_unit_test(http_error__key_cut_by_the_shortening__is_hidden),
        cmocka_unit_test(http_error__error_buffer_cutting_the_key__is_hidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
