-- abort_after_rcpt.lua -- reserve at RCPT, then abort (RSET): nothing may
-- stay charged.  Placeholders @PORT@ @FROM@.
conn = mt.connect("inet:@PORT@@127.0.0.1", 20, 0.1)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "client.test", "127.0.0.1") ~= nil then error("conninfo") end
mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "alice@example.test")
if mt.mailfrom(conn, "<@FROM@>") ~= nil then error("mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mail refused") end
if mt.rcptto(conn, "<a1@remote.test>") ~= nil then error("rcptto") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt refused") end
if mt.rcptto(conn, "<a2@remote.test>") ~= nil then error("rcptto") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt refused") end
if mt.abort(conn) ~= nil then error("abort") end
print("result aborted")
mt.disconnect(conn)
