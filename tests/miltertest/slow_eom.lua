-- slow_eom.lua -- reserve at RCPT, print "reserved", wait 3 s (the test
-- stops PostgreSQL meanwhile), then end the message.  Prints "result
-- accepted" or "result refused".  Placeholders @PORT@ @FROM@.
conn = mt.connect("inet:@PORT@@127.0.0.1", 20, 0.1)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "client.test", "127.0.0.1") ~= nil then error("conninfo") end
mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "alice@example.test", "i", "SLOWEOM")
if mt.mailfrom(conn, "<@FROM@>") ~= nil then error("mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mail refused") end
if mt.rcptto(conn, "<slow@remote.test>") ~= nil then error("rcptto") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt refused") end
print("reserved")
io.stdout:flush()
mt.sleep(3)
if mt.header(conn, "Subject", "slow") ~= nil then error("header") end
if mt.eom(conn) ~= nil then error("eom") end
if mt.getreply(conn) == SMFIR_CONTINUE then print("result accepted") else print("result refused") end
mt.disconnect(conn)
