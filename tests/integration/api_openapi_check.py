#!/usr/bin/env python3
"""api_openapi_check.py -- does the running API do what contrib/openapi.json says?

Usage: api_openapi_check.py SPEC BASE_URL ACCOUNT_KEY INBOX_ID OTHER_INBOX_ID

Calls every documented operation with valid input and with invalid input
(no key, a bad id, an unknown id, a bad page, a broken body, a wrong
content type), and checks that each status is one documented for the
operation and that each JSON answer has the documented required fields
(error answers: the Error schema).  A valid call must get the operation's
documented success (its one 2xx status): a documented error is no pass
for it.  getMessage and getThread are called with the ids of the message
sendMessage sent (so the API must submit through a real Postfix, see
t_api_openapi.sh), and with unknown ids (404).  Methods not documented on
a documented path must be 405, paths not documented 404.  Prints one
"ok - " / "FAIL - " line per check and "N passed, M failed" last; exit 1
on any failure.  stdlib only.
"""
import json
import sys
import time
import urllib.error
import urllib.request

spec_path, base, key, inbox, other = sys.argv[1:6]
spec = json.load(open(spec_path))
passed = failed = 0


def report(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + name)
    else:
        failed += 1
        print("FAIL - %s: %s" % (name, detail))


def call(method, path, body=None, ctype="application/json", with_key=True):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if with_key:
        req.add_header("x-api-key", key)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def resolve(schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def missing(value, schema):
    """Required fields of schema absent from value (one level, and list items)."""
    schema = resolve(schema)
    if schema.get("type") == "object" or "required" in schema:
        if not isinstance(value, dict):
            return ["<not an object>"]
        out = [f for f in schema.get("required", []) if f not in value]
        for name, sub in schema.get("properties", {}).items():
            sub = resolve(sub) if isinstance(sub, dict) else sub
            if isinstance(sub, dict) and sub.get("type") == "array" and "items" in sub and isinstance(value.get(name), list):
                for item in value[name][:3]:
                    out += ["%s[].%s" % (name, m) for m in missing(item, sub["items"])]
            if name == "error" and isinstance(value.get("error"), dict):
                out += ["error." + m for m in missing(value["error"], sub)]
        return out
    return []


def check(op_name, op, status, raw, label):
    responses = op["responses"]
    ok = str(status) in responses
    report(ok, "%s %s: status %d documented" % (op_name, label, status), "documented: " + ",".join(responses))
    if not ok or status == 204:
        return
    content = responses[str(status)].get("content")
    if not content:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        report(False, "%s %s: JSON answer" % (op_name, label), raw[:200])
        return
    miss = missing(value, content["application/json"]["schema"])
    report(not miss, "%s %s: required fields present" % (op_name, label), ",".join(miss))


VALID_BODIES = {
    "createInbox": {"displayName": "OpenAPI"},
    "updateInbox": {"labels": ["checked"], "tracking": {"opens": True, "clicks": None}},
    "sendMessage": {"to": "x@remote.test", "subject": "s", "text": "t"},
    "createWebhook": {"url": "https://hooks.example.test/openapi"},
    "updateWebhook": {"enabled": True},
    "createSuppression": {"address": "openapi@remote.test", "reason": "checked"},
    "createDomain": {"name": "openapi-check.test"},
}
UNKNOWN = {"messageId": "00000000-0000-4000-8000-000000000001",
           "threadId": "00000000-0000-4000-8000-000000000002"}
ids = {"inboxId": inbox, "messageId": None, "threadId": None, "webhookId": None, "address": "openapi@remote.test",
       "domainId": None}


def success(op):
    """The operation's documented success status (the one 2xx it has)."""
    codes = [int(c) for c in op["responses"] if c.startswith("2")]
    return codes[0] if len(codes) == 1 else None


def sent_message(inbox_id):
    """id and threadId of the message sendMessage sent (its row, once the
    milter has recorded it), or (None, None)."""
    for _ in range(50):
        status, raw = call("GET", "/v1/inboxes/%s/messages" % inbox_id)
        if status == 200:
            data = json.loads(raw).get("data") or []
            if data:
                return data[0].get("id"), data[0].get("threadId")
        time.sleep(0.1)
    return None, None
ORDER = ["listInboxes", "createInbox", "getInbox", "updateInbox", "listMessages", "sendMessage", "getMessage",
         "listThreads", "getThread", "listEvents", "listWebhooks", "createWebhook", "getWebhook", "updateWebhook",
         "listDeliveries", "deleteWebhook", "listSuppressions", "createSuppression", "deleteSuppression", "deleteInbox",
         "listDomains", "createDomain", "getDomain", "verifyDomain", "deleteDomain"]
ops = {}
for path, item in spec["paths"].items():
    for method, op in item.items():
        if method == "parameters":
            continue
        params = item.get("parameters", []) + op.get("parameters", [])
        ops[op["operationId"]] = (path, method.upper(), op, params)
report(sorted(ops) == sorted(ORDER), "every operation is exercised", sorted(set(ops) ^ set(ORDER)))

for name in ORDER:
    path, method, op, params = ops[name]
    if name == "deleteInbox":
        ids["inboxId"] = other
    filled = path
    for p in params:
        if p["in"] == "path":
            filled = filled.replace("{%s}" % p["name"], ids[p["name"]] or "00000000-0000-4000-8000-000000000003")
    body = VALID_BODIES.get(name) if method in ("POST", "PATCH") else None
    status, raw = call(method, filled, body)
    check(name, op, status, raw, "valid")
    want = success(op)
    report(want is not None and status == want, "%s valid: %s" % (name, want), "%d %s" % (status, raw[:200]))
    if name == "createWebhook" and status == 201:
        ids["webhookId"] = json.loads(raw)["id"]
    if name == "createDomain" and status == 201:
        ids["domainId"] = json.loads(raw)["id"]
    if name == "sendMessage":
        ids["messageId"], ids["threadId"] = sent_message(inbox)
        report(ids["messageId"] is not None and ids["threadId"] is not None,
               "sendMessage: the sent message is listed, with its thread", ids)
    # an unknown (well-formed) id
    if name in ("getMessage", "getThread"):
        unknown = filled.replace(str(ids["messageId"] if name == "getMessage" else ids["threadId"]),
                                 UNKNOWN["messageId" if name == "getMessage" else "threadId"])
        st, raw = call(method, unknown)
        check(name, op, st, raw, "unknown id")
        report(st == 404, "%s unknown id: 404" % name, st)
    # no key
    status, raw = call(method, filled, body, with_key=False)
    check(name, op, status, raw, "without a key")
    report(status == 401, "%s without a key: 401" % name, status)
    # a bad id
    if "{" in path:
        bad = path
        for p in params:
            if p["in"] == "path":
                bad = bad.replace("{%s}" % p["name"], "not-a-uuid")
        status, raw = call(method, bad, body)
        check(name, op, status, raw, "bad id")
        report(status == 400, "%s bad id: 400" % name, status)
    # a bad page
    if any(p["name"] == "limit" for p in params):
        status, raw = call(method, filled + "?limit=0")
        check(name, op, status, raw, "limit=0")
        report(status == 400, "%s limit=0: 400" % name, status)
    # broken bodies (an operation that takes one)
    if method in ("POST", "PATCH") and "requestBody" in op:
        for label, raw_body, ctype, want in (("invalid JSON", b"{", "application/json", 400),
                                             ("array body", b"[]", "application/json", 400),
                                             ("unknown field", b'{"zzz": 1}', "application/json", 400),
                                             ("text/plain", b"{}", "text/plain", 415)):
            status, raw = call(method, filled, raw_body, ctype)
            check(name, op, status, raw, label)
            report(status == want, "%s %s: %d" % (name, label, want), status)

# methods not documented: 405; paths not documented: 404
for path, item in spec["paths"].items():
    filled = path.replace("{inboxId}", inbox).replace("{messageId}", UNKNOWN["messageId"]) \
                 .replace("{threadId}", UNKNOWN["threadId"]).replace("{webhookId}", UNKNOWN["messageId"]) \
                 .replace("{address}", "nobody@remote.test").replace("{domainId}", UNKNOWN["messageId"])
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        if method.lower() in item:
            continue
        status, _ = call(method, filled, {} if method in ("POST", "PUT", "PATCH") else None)
        report(status == 405, "%s %s (not documented): 405" % (method, path), status)
for path in ("/", "/v1", "/v1/", "/v1/inbox", "/v1/inboxes/", "/v2/inboxes", "/v1/domain", "/v1/domains/", "/v1/inboxes/%s/nothing" % inbox,
             "/v1/inboxes/%s/messages/%s/raw" % (inbox, UNKNOWN["messageId"]), "/metrics", "/openapi.json"):
    status, _ = call("GET", path)
    report(status == 404, "GET %s (not documented): 404" % path, status)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
