-- table.lua -- the milter alone, without Postfix: one session per case,
-- printing "CASE reply" where reply is continue, reject-code (a 4xx/5xx
-- reply set with smfi_setreply), tempfail, reject or other.
-- Placeholders: @PORT@ @ACTIVE@ @DISABLED@ @SUSPENDED@ @UNKNOWN@ @SENDER@.
local names = {
    [SMFIR_CONTINUE] = "continue", [SMFIR_REPLYCODE] = "reply-code",
    [SMFIR_TEMPFAIL] = "tempfail", [SMFIR_REJECT] = "reject", [SMFIR_ACCEPT] = "accept",
}
local function reply(conn)
    return names[mt.getreply(conn)] or "other"
end
local function session()
    local conn = mt.connect("inet:@PORT@@127.0.0.1", 20, 0.1)
    if conn == nil then error("cannot connect to the milter") end
    if mt.conninfo(conn, "client.test", "192.0.2.1") ~= nil then error("conninfo") end
    return conn
end
local function rcpt_case(name, rcpt)
    local conn = session()
    if mt.mailfrom(conn, "<ext@remote.test>") ~= nil then error("mailfrom") end
    mt.getreply(conn)
    if mt.rcptto(conn, "<" .. rcpt .. ">") ~= nil then error("rcptto") end
    print(name .. " " .. reply(conn))
    mt.disconnect(conn)
end

rcpt_case("rcpt-active", "@ACTIVE@")
rcpt_case("rcpt-disabled", "@DISABLED@")
rcpt_case("rcpt-suspended", "@SUSPENDED@")
rcpt_case("rcpt-unknown", "@UNKNOWN@")
rcpt_case("rcpt-foreign", "someone@elsewhere.test")
rcpt_case("rcpt-malformed", "bad address@@x")

-- Unauthenticated MAIL FROM an inbox address.
local conn = session()
if mt.mailfrom(conn, "<@SENDER@>") ~= nil then error("mailfrom") end
print("mail-spoof " .. reply(conn))
mt.disconnect(conn)

-- Authenticated, not granted.
conn = session()
mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "nobody@example.test")
if mt.mailfrom(conn, "<@SENDER@>") ~= nil then error("mailfrom") end
print("mail-not-granted " .. reply(conn))
mt.disconnect(conn)

-- A complete inbound message, then a second one in the same session.
conn = session()
for i = 1, 2 do
    if mt.mailfrom(conn, "<ext@remote.test>") ~= nil then error("mailfrom") end
    mt.getreply(conn)
    if mt.rcptto(conn, "<@ACTIVE@>") ~= nil then error("rcptto") end
    mt.getreply(conn)
    mt.header(conn, "Subject", "miltertest " .. i)
    mt.header(conn, "Message-ID", "<miltertest-" .. i .. "@remote.test>")
    mt.header(conn, "To", "first@x")
    mt.header(conn, "To", "second@x")
    mt.bodystring(conn, "hello\r\n")
    if mt.eom(conn) ~= nil then error("eom") end
    print("eom-" .. i .. " " .. reply(conn))
end
mt.disconnect(conn)

-- A session that ends without any transaction, and one that aborts after MAIL.
conn = session()
mt.disconnect(conn)
conn = session()
mt.mailfrom(conn, "<ext@remote.test>")
mt.getreply(conn)
mt.abort(conn)
mt.disconnect(conn)
print("done")
