# python_env.sh: sourced by tests about the Python a user's machine has.
#
# pypi_reachable PYTHON: 0 when PYTHON's pip can list a package's versions on
# the Python package index (PyPI, or the index pip is configured for) within
# 20 s, else 1. Tests skip (exit 77) only on 1, so a broken install where the
# index answers is a failure.
pypi_reachable() {
  local py=$1
  PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 30 "$py" -m pip index versions pip \
    --retries 0 --timeout 20 >/dev/null 2>&1
}

# write_failing_shims DIR: python3, python, pip, pip3 and pytest in DIR that
# fail as pyenv's shims do when their folder is read-only; put DIR first on
# PATH to check that nothing depends on the caller's python3.
write_failing_shims() {
  local p
  mkdir -p "$1"
  for p in python3 python pip pip3 pytest; do
    printf '#!/bin/sh\necho "pyenv: cannot rehash: %s isn'"'"'t writable" >&2\nexit 1\n' "$1" >"$1/$p"
    chmod +x "$1/$p"
  done
}
