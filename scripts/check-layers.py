#!/usr/bin/env python3
"""check-layers.py -- fails when a layer of lib/ includes a higher one.

Usage: check-layers.py [TOP_SRCDIR]      (run by make check)

The layers of lib/, lowest first, and what each may include besides itself:
    util     -
    core     util
    store    util core
    mail     util core
    net      util core
    runtime  util core store mail net
    admin    util core store mail net
The programs (milter/, policyd/, ctl/) may include every layer, and milter/
and policyd/ never include each other's files.  A quoted include is resolved
to the file next to the includer, else to the lib/ layer that holds a file
of that name.  System headers are checked too: libmilter belongs to milter/
alone, libpq and hiredis to store (and the programs), GMime to mail,
libmicrohttpd to net, libcurl to policyd.  No two modules (NAME.c + NAME.h)
include each other.  Prints one "ok -" or "FAIL -" line per rule, then
"N passed, M failed"; exits 1 on any failure.
"""
import os
import re
import sys

LAYERS = {
    "util": set(),
    "core": {"util"},
    "store": {"util", "core"},
    "mail": {"util", "core"},
    "net": {"util", "core"},
    "runtime": {"util", "core", "store", "mail", "net"},
    "admin": {"util", "core", "store", "mail", "net"},
}
PROGRAMS = {"milter", "policyd", "ctl"}
# system header prefix -> the places that may include it
SYSTEM = [
    ("libmilter/", {"milter"}),
    ("libpq-fe.h", {"store", "runtime", "admin"} | PROGRAMS),
    ("hiredis/", {"store"} | PROGRAMS),
    ("gmime/", {"mail", "runtime"} | PROGRAMS),
    ("glib.h", {"mail"}),
    ("microhttpd.h", {"net", "policyd"}),
    ("curl/", {"policyd"}),
]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    os.chdir(top)
    places = {}                      # place -> dir
    for layer in LAYERS:
        if os.path.isdir("lib/" + layer):
            places[layer] = "lib/" + layer
    for prog in sorted(PROGRAMS):
        places[prog] = prog
    header_layer = {}                # header name -> layer
    for layer in LAYERS:
        d = places.get(layer)
        for f in sorted(os.listdir(d)) if d else []:
            if f.endswith(".h"):
                header_layer.setdefault(f, layer)
    results = []
    deps = {}                        # module -> modules it includes
    for place, d in places.items():
        bad = []
        for f in sorted(os.listdir(d)):
            if not f.endswith((".c", ".h")):
                continue
            path = d + "/" + f
            module = path[:-2]
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for kind, inc in INCLUDE.findall(text):
                if kind == "<":
                    for prefix, who in SYSTEM:
                        if inc.startswith(prefix) and place not in who:
                            bad.append("%s: <%s>" % (path, inc))
                    continue
                if inc.startswith("lib/"):
                    target_layer = inc.split("/")[1]
                    target = inc[:-2]
                elif os.path.isfile(d + "/" + inc):
                    target_layer, target = place, d + "/" + inc[:-2]
                elif inc in header_layer:
                    target_layer = header_layer[inc]
                    target = places[target_layer] + "/" + inc[:-2]
                elif place in PROGRAMS:
                    other = [q for q in PROGRAMS if q != place and os.path.isfile(q + "/" + inc)]
                    if other:
                        bad.append('%s: "%s" (%s)' % (path, inc, other[0]))
                    continue         # else generated in the build tree
                else:
                    bad.append('%s: "%s" (no such header)' % (path, inc))
                    continue
                if target != module:
                    deps.setdefault(module, set()).add(target)
                if target_layer == place:
                    continue
                if place in PROGRAMS:
                    if target_layer in PROGRAMS:
                        bad.append('%s: "%s" (%s)' % (path, inc, target_layer))
                elif target_layer not in LAYERS[place]:
                    bad.append('%s: "%s" (%s)' % (path, inc, target_layer))
        results.append((not bad, "%s includes only what its layer may" % d, " ".join(bad)))
    circles = sorted({" <-> ".join(sorted((a, b))) for a, ds in deps.items() for b in ds
                      if a in deps.get(b, ())})
    results.append((not circles, "no two modules include each other", "; ".join(circles)))
    passed = sum(1 for ok, _, _ in results if ok)
    for ok, name, detail in results:
        print("ok - %s" % name if ok else "FAIL - %s: %s" % (name, detail))
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
