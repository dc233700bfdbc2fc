"""`.env.local` and `.env` read as the Daytona SDKs read them, and as `atc` and
atc-worker read them (common/src/dotenv.c; docs/configuration.md): files in
the working directory, the process environment winning over `.env.local`,
`.env.local` over `.env`; only DAYTONA_* and ATC_* names; the Daytona endpoint
(DAYTONA_API_URL, DAYTONA_SERVER_URL) never from a file. os.environ is left
as it is: environ() returns the merged view."""

import os
import re
import stat
import warnings

FILES = (".env.local", ".env")
ENDPOINTS = ("DAYTONA_API_URL", "DAYTONA_SERVER_URL")
DEFAULT_API_URL = "https://app.daytona.io/api"

# The dotenv package's LINE expression (dotenv 16, lib/main.js).
_LINE = re.compile(
    r"(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\""
    r"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)", re.M)


def parse(text):
    """NAME -> value, as dotenv's parse(): a later assignment wins."""
    out = {}
    for m in _LINE.finditer(re.sub(r"\r\n?", "\n", text)):
        value = (m.group(2) or "").strip()
        quote = value[:1]
        qm = re.fullmatch(r"(['\"`])([\s\S]*)\1", value)
        if qm:
            value = qm.group(2)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        out[m.group(1)] = value
    return out


def is_secret(name, value):
    if any(mark in name for mark in ("KEY", "TOKEN", "PASSWORD", "SECRET")) and "_FILE" not in name:
        return bool(value)
    return re.match(r"[a-z]+://[^/@]*:[^/@]*@", value or "") is not None


def _taken(name):
    return (name.startswith("DAYTONA_") or name.startswith("ATC_")) and name not in ENDPOINTS


def load(directory=None, environ=None):
    """(values from the files that the environment does not set, warnings)."""
    env = os.environ if environ is None else environ
    values, notes = {}, []
    for fname in FILES:
        path = os.path.join(directory, fname) if directory else fname
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                mode = os.fstat(f.fileno()).st_mode
                text = f.read()
        except FileNotFoundError:
            continue
        secret_warned = False
        for name, value in parse(text).items():
            if not (name.startswith("DAYTONA_") or name.startswith("ATC_")):
                continue
            if not secret_warned and mode & stat.S_IROTH and is_secret(name, value):
                notes.append(f"{path} holds {name} and every user of this machine may read it "
                             "(chmod 600 it)")
                secret_warned = True
            if name in ENDPOINTS:
                if value != (env.get("DAYTONA_API_URL") or DEFAULT_API_URL):
                    notes.append(f"{name} set in {path} was ignored: the Daytona API endpoint is "
                                 "never read from a .env file (set it in the environment)")
                continue
            if _taken(name) and name not in env and name not in values:
                values[name] = value
    return values, notes


def environ(directory=None):
    """os.environ over the .env files' ATC_* and DAYTONA_* values; warns (once
    per call) about a world-readable file holding a secret and an ignored endpoint."""
    values, notes = load(directory)
    for n in notes:
        warnings.warn(n, stacklevel=3)
    merged = dict(values)
    merged.update(os.environ)
    return merged
