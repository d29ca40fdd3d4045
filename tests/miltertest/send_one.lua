-- send_one.lua -- one authenticated message through the milter alone.
-- Placeholders @PORT@ @FROM@ @RCPT@ @QID@ are filled in by the test.
-- Prints "result accepted", or "result refused" when RCPT is refused.
conn = mt.connect("inet:@PORT@@127.0.0.1", 20, 0.1)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "client.test", "127.0.0.1") ~= nil then error("conninfo") end
mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "alice@example.test", "i", "@QID@")
if mt.mailfrom(conn, "<@FROM@>") ~= nil then error("mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then print("result mail-refused") mt.disconnect(conn) return end
mt.macro(conn, SMFIC_RCPT, "i", "@QID@")
if mt.rcptto(conn, "<@RCPT@>") ~= nil then error("rcptto") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then
    -- miltertest does not expose the reply text; the milter's log has the reason
    print("result refused")
    mt.disconnect(conn)
    return
end
if mt.header(conn, "Subject", "race") ~= nil then error("header") end
if mt.bodystring(conn, "body\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if mt.getreply(conn) == SMFIR_CONTINUE then print("result accepted") else print("result eom-refused") end
mt.disconnect(conn)
