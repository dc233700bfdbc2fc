/* test_env_key.c: dependency environment keys and their Dockerfile (common/src/env_key.c). */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/env_key.h"
#include "atc/error.h"

static const struct atc_env_base BASE = {.image = "python:3.12.10-slim-bookworm"};

/* The name of deps on base, into name (ATC_ENV_NAME_MAX). */
static void name_of(const char *const *deps, size_t n, const struct atc_env_base *base, char *name)
{
    struct atc_env_key key;
    char err[256];
    assert_int_equal(atc_env_key_compute(deps, n, base, &key, err, sizeof(err)), 0);
    snprintf(name, ATC_ENV_NAME_MAX, "%s", key.name);
    atc_env_key_cleanup(&key);
}

static void env_key__names__are_folded_as_pip_folds_them(void **state)
{
    char out[ATC_ENV_DEP_MAX];
    assert_int_equal(atc_env_normalize_dep("Langchain_Core", out, sizeof(out)), 0);
    assert_string_equal(out, "langchain-core");
    assert_int_equal(atc_env_normalize_dep("zope.interface", out, sizeof(out)), 0);
    assert_string_equal(out, "zope-interface");
    assert_int_equal(atc_env_normalize_dep("a__b-.c", out, sizeof(out)), 0);
    assert_string_equal(out, "a-b-c");
}

static void env_key__extras_and_clauses__are_sorted_and_deduplicated(void **state)
{
    char out[ATC_ENV_DEP_MAX];
    assert_int_equal(atc_env_normalize_dep("Uvicorn[Standard,dev,standard]<2,>=1.0RC1", out,
                                           sizeof(out)), 0);
    assert_string_equal(out, "uvicorn[dev,standard]<2,>=1.0rc1");
}

static void env_key__a_requirement_the_decoder_refuses__is_invalid(void **state)
{
    char out[ATC_ENV_DEP_MAX];
    assert_int_equal(atc_env_normalize_dep("--index-url=x", out, sizeof(out)), ATC_EINVAL);
    assert_int_equal(atc_env_normalize_dep("pkg @ https://x/y.whl", out, sizeof(out)), ATC_EINVAL);
    assert_int_equal(atc_env_normalize_dep("", out, sizeof(out)), ATC_EINVAL);
    assert_int_equal(atc_env_normalize_dep("pytest", out, 3), ATC_ETOOBIG);
}

static void env_key__order_case_and_duplicates__give_the_same_name(void **state)
{
    const char *a[] = {"pytest", "langchain-core"};
    const char *b[] = {"Langchain_Core", "PyTest", "pytest"};
    char na[ATC_ENV_NAME_MAX], nb[ATC_ENV_NAME_MAX];
    name_of(a, 2, &BASE, na);
    name_of(b, 3, &BASE, nb);
    assert_string_equal(na, nb);
    assert_true(atc_env_name_valid(na));
    assert_int_equal(strlen(na), strlen("atc-env-") + 16);
}

static void env_key__a_different_version_base_or_index__gives_another_name(void **state)
{
    const char *a[] = {"pytest"};
    const char *b[] = {"pytest==8.0"};
    const struct atc_env_base other = {.image = "python:3.11.12-slim-bookworm"};
    const struct atc_env_base idx = {.image = BASE.image, .index_url = "http://127.0.0.1:1/simple"};
    const struct atc_env_base res = {.image = BASE.image, .resources = "cpu=2"};
    char n1[ATC_ENV_NAME_MAX], n2[ATC_ENV_NAME_MAX], n3[ATC_ENV_NAME_MAX], n4[ATC_ENV_NAME_MAX],
        n5[ATC_ENV_NAME_MAX];
    name_of(a, 1, &BASE, n1);
    name_of(b, 1, &BASE, n2);
    name_of(a, 1, &other, n3);
    name_of(a, 1, &idx, n4);
    name_of(a, 1, &res, n5);
    assert_string_not_equal(n1, n2);
    assert_string_not_equal(n1, n3);
    assert_string_not_equal(n1, n4);
    assert_string_not_equal(n1, n5);
}

static void env_key__the_canonical_text__lists_every_part_sorted(void **state)
{
    const char *deps[] = {"b", "A"};
    struct atc_env_key key;
    char err[256];
    assert_int_equal(atc_env_key_compute(deps, 2, &BASE, &key, err, sizeof(err)), 0);
    assert_string_equal(key.text, "atc-env-v1\nbase python:3.12.10-slim-bookworm\n"
                                  "resources default\nindex default\ndep a\ndep b\n");
    assert_int_equal(key.ndeps, 2);
    assert_string_equal(key.deps[0], "a");
    assert_int_equal(strncmp(key.name + 8, key.hex, 16), 0);
    atc_env_key_cleanup(&key);
}

static void env_key__no_deps_or_a_bad_one__is_refused_with_a_reason(void **state)
{
    const char *bad[] = {"ok", "no way"};
    struct atc_env_key key;
    char err[256] = "";
    assert_int_equal(atc_env_key_compute(bad, 0, &BASE, &key, err, sizeof(err)), ATC_EINVAL);
    assert_int_equal(atc_env_key_compute(bad, 2, &BASE, &key, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "no way"));
    const struct atc_env_base quoted = {.image = "py'thon"};
    assert_int_equal(atc_env_key_compute(bad, 1, &quoted, &key, err, sizeof(err)), ATC_EINVAL);
    assert_null(key.deps);
}

static void env_key__the_dockerfile__has_one_pip_line_with_each_requirement_quoted(void **state)
{
    const char *deps[] = {"pytest", "Langchain_Core>=0.1"};
    const struct atc_env_base base = {.image = BASE.image, .index_url = "http://127.0.0.1:9/simple"};
    struct atc_env_key key;
    char err[256];
    assert_int_equal(atc_env_key_compute(deps, 2, &base, &key, err, sizeof(err)), 0);
    char *df = atc_env_dockerfile(&key, &base, err, sizeof(err));
    assert_non_null(df);
    assert_string_equal(df, "FROM python:3.12.10-slim-bookworm\n"
                            "RUN python -m pip install --no-cache-dir --index-url "
                            "'http://127.0.0.1:9/simple' 'langchain-core>=0.1' 'pytest'\n");
    free(df);
    atc_env_key_cleanup(&key);
}

static void env_key__names__are_checked_for_their_form(void **state)
{
    assert_true(atc_env_name_valid("atc-env-0123456789abcdef"));
    assert_false(atc_env_name_valid("atc-env-0123456789ABCDEF"));
    assert_false(atc_env_name_valid("atc-env-0123"));
    assert_false(atc_env_name_valid("other-0123456789abcdef"));
    assert_false(atc_env_name_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_key__names__are_folded_as_pip_folds_them),
        cmocka_unit_test(env_key__extras_and_clauses__are_sorted_and_deduplicated),
        cmocka_unit_test(env_key__a_requirement_the_decoder_refuses__is_invalid),
        cmocka_unit_test(env_key__order_case_and_duplicates__give_the_same_name),
        cmocka_unit_test(env_key__a_different_version_base_or_index__gives_another_name),
        cmocka_unit_test(env_key__the_canonical_text__lists_every_part_sorted),
        cmocka_unit_test(env_key__no_deps_or_a_bad_one__is_refused_with_a_reason),
        cmocka_unit_test(env_key__the_dockerfile__has_one_pip_line_with_each_requirement_quoted),
        cmocka_unit_test(env_key__names__are_checked_for_their_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
