"""A tool an agent might write: turn a title into a URL slug."""
import re


def slugify(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)
