# pypi.sh: sourced by tests that need the Python package index (PyPI, or the
# index pip is configured for). pypi_reachable PYTHON: 0 when PYTHON's pip can
# list a package's versions there within 20 s, else 1. Tests skip (exit 77)
# only on 1, so a broken install where the index answers is a failure.
pypi_reachable() {
  local py=$1
  PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 30 "$py" -m pip index versions pip \
    --retries 0 --timeout 20 >/dev/null 2>&1
}
