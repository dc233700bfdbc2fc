#!/usr/bin/env bash
# it_python.sh: daytona-local's fixed sandbox Python (--python) whatever the
# server's PATH: with a failing pyenv-like shim first on it, python3, python,
# pip and pytest in a sandbox run --python (the default /usr/bin/python3, then a
# venv under a directory the jail hides), code-run too, the PATH starts with
# the bin directory then /usr/bin:/bin, /_local/stats and the start line say
# which, a request's envs may still set PATH, and a --python that is not a
# working Python stops the server at start (exit 2) with the reason.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../python_env.sh"

write_failing_shims "$IT_TMP/shims"
export PATH="$IT_TMP/shims:$PATH"

it_expect_exit 2 "$(it_bin daytona-local)" --listen 127.0.0.1:0 --python /bin/true
it_assert_contains "$IT_ERR" "not a working Python" "--python /bin/true"
it_expect_exit 2 "$(it_bin daytona-local)" --listen 127.0.0.1:0 --python python3
it_assert_contains "$IT_ERR" "absolute path" "--python python3"
it_expect_exit 2 "$(it_bin daytona-local)" --listen 127.0.0.1:0 --python "$IT_TMP/none/python3"
it_assert_contains "$IT_ERR" "not an executable file" "--python of a missing file"

# check_python WANT_EXE WANT_PREFIX: the sandbox's interpreter, by every name;
# sets bin (the server's bin directory).
check_python() {
    local want=$1 prefix=$2 sb stats
    stats=$(curl -fsS "$DAYTONA_BASE/_local/stats")
    it_assert_eq "$(jq -r .python <<<"$stats")" "$want" "/_local/stats python"
    it_assert_contains "$(jq -r .python_version <<<"$stats")" "Python 3" "/_local/stats python_version"
    bin=$(jq -r .sandbox_bin <<<"$stats")
    [[ -x "$bin/python3" ]] || it_fail "no $bin/python3"
    grep -q "^daytona-local: sandboxes' python: $want (Python 3" "$IT_TMP/daytona.log" ||
        it_fail "no start line naming $want: $(head -n 3 "$IT_TMP/daytona.log")"
    sb=$(it_daytona_create '{}') || it_fail "create"
    it_daytona_exec "$sb" 'echo "$PATH"'
    it_assert_eq "${OUT%%:/usr/bin:/bin:*}" "$bin" "PATH starts with the bin dir, then /usr/bin:/bin ($OUT)"
    for name in python3 python; do
        it_daytona_exec "$sb" "$name -c 'import sys; print(sys.prefix)'"
        it_assert_eq "$EXIT:$OUT" "0:$prefix" "$name's sys.prefix in the sandbox"
    done
    it_daytona_exec "$sb" 'pip --version && pip3 --version'
    it_assert_eq "$EXIT" 0 "pip in the sandbox: $OUT"
    it_assert_contains "$OUT" "(python 3" "pip's own line"
    it_daytona_exec "$sb" "printf 'def test_x():\n    import sys; print(sys.prefix)\n' > test_x.py && pytest -q -s -p no:cacheprovider test_x.py"
    it_assert_eq "$EXIT" 0 "pytest in the sandbox: $OUT"
    it_assert_contains "$OUT" "$prefix" "pytest runs --python"
    reply=$(curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" -H 'Content-Type: application/json' \
        -X POST "$DAYTONA_BASE/toolbox/$sb/process/code-run" \
        -d '{"code":"import sys; print(sys.prefix)","language":"python"}')
    it_assert_eq "$(jq -r .result <<<"$reply")" "$prefix" "code-run's sys.prefix"
    body=$(jq -n '{command: "echo $PATH", envs: {PATH: "/bin"}}')
    reply=$(curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" -H 'Content-Type: application/json' \
        -X POST "$DAYTONA_BASE/toolbox/$sb/process/execute" -d "$body")
    it_assert_eq "$(jq -r .result <<<"$reply")" "/bin" "a request's envs may set PATH"
    curl -fsS -H "Authorization: Bearer $DAYTONA_API_KEY" -X DELETE "$DAYTONA_API_URL/sandbox/$sb" >/dev/null ||
        it_fail "delete $sb"
}

it_start_daytona
check_python /usr/bin/python3 /usr
it_stop "$DAYTONA_PID"
[[ ! -e "$bin" ]] || it_fail "the bin dir $bin is left after daytona-local stopped"

# A venv under IT_TMP (mode 0700, under /tmp: hidden by the jail but for --keep).
/usr/bin/python3 -m venv --system-site-packages "$IT_TMP/venv" || it_fail "python3 -m venv (python3-venv)"
it_start_daytona --python "$IT_TMP/venv/bin/python3"
check_python "$IT_TMP/venv/bin/python3" "$IT_TMP/venv"
it_log "PASS"
