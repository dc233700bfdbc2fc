#!/usr/bin/python3
"""make_index.py: writes tiny pure-Python wheels and a PEP 503 simple index for
hermetic dependency-environment tests and benchmarks (no PyPI needed).

  make_index.py OUTDIR NAME==VERSION[:REQ;REQ...] ...

Each package NAME gets a module NAME (with '-' as '_') whose VALUE is
"NAME VERSION" and a function who() returning it. Serve OUTDIR/simple with
  /usr/bin/python3 -m http.server --bind 127.0.0.1 PORT --directory OUTDIR
and give pip --index-url http://127.0.0.1:PORT/simple.
"""
import base64
import hashlib
import os
import re
import sys
import zipfile


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def make_wheel(outdir, name, version, requires):
    mod = name.replace("-", "_")
    dist = "%s-%s" % (mod, version)
    files = {
        "%s/__init__.py" % mod: ("VALUE = %r\n\ndef who():\n    return VALUE\n"
                                 % ("%s %s" % (name, version))).encode(),
        "%s.dist-info/METADATA" % dist: ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s"
                                         % (name, version, "".join("Requires-Dist: %s\n" % r
                                                                   for r in requires))).encode(),
        "%s.dist-info/WHEEL" % dist: b"Wheel-Version: 1.0\nGenerator: make_index\n"
                                     b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "%s.dist-info/RECORD" % dist
    lines = [record_line(p, d) for p, d in files.items()] + ["%s,," % record]
    files[record] = ("\n".join(lines) + "\n").encode()
    pkgdir = os.path.join(outdir, "simple", norm(name))
    os.makedirs(pkgdir, exist_ok=True)
    whl = "%s-py3-none-any.whl" % dist
    with zipfile.ZipFile(os.path.join(pkgdir, whl), "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
    return norm(name), whl


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    outdir = argv[1]
    index = {}
    for spec in argv[2:]:
        head, _, reqs = spec.partition(":")
        name, _, version = head.partition("==")
        key, whl = make_wheel(outdir, name, version or "1.0",
                              [r for r in reqs.split(";") if r])
        index.setdefault(key, []).append(whl)
    root = os.path.join(outdir, "simple")
    for key, whls in index.items():
        with open(os.path.join(root, key, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>\n")
            for w in sorted(set(os.listdir(os.path.join(root, key))) - {"index.html"}):
                f.write('<a href="%s">%s</a><br>\n' % (w, w))
            f.write("</body></html>\n")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!DOCTYPE html><html><body>\n")
        for key in sorted(os.listdir(root)):
            if os.path.isdir(os.path.join(root, key)):
                f.write('<a href="%s/">%s</a><br>\n' % (key, key))
        f.write("</body></html>\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
