-- reload_inflight.lua - a session in flight keeps the configuration it
-- started with across a reload (run by t_stages.sh). The shell has
-- prepared the new file; this script swaps it in and sends SIGHUP between
-- RCPT and end of message.
local ok, err = pcall(function()
  local spec = os.getenv("RG_SOCKET")
  local conn = mt.connect(spec)
  if conn == nil then error("cannot connect to " .. spec) end
  mt.conninfo(conn, "client.example", "192.0.2.8")
  mt.helo(conn, "client.example")
  mt.macro(conn, SMFIC_MAIL, "i", "QIDOLD")
  mt.mailfrom(conn, "<old@ours.example>")
  mt.rcptto(conn, "<a@far.example>")
  -- reload while this message is open
  if not os.execute(os.getenv("RG_RELOAD_CMD")) then error("reload command failed") end
  mt.sleep(1)
  -- a From field: header_action rejects a message without one
  mt.header(conn, "From", "old@ours.example")
  mt.header(conn, "Subject", "in flight")
  mt.eoh(conn)
  mt.bodystring(conn, "x\r\n")
  mt.eom(conn)
  if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", " old.test; none") then
    error("in-flight message did not keep authserv_id old.test")
  end
  mt.disconnect(conn)

  -- a new session gets the new configuration
  local c2 = mt.connect(spec)
  mt.conninfo(c2, "client.example", "192.0.2.8")
  mt.helo(c2, "client.example")
  mt.macro(c2, SMFIC_MAIL, "i", "QIDNEW")
  mt.mailfrom(c2, "<new@ours.example>")
  mt.rcptto(c2, "<a@far.example>")
  mt.header(c2, "From", "new@ours.example")
  mt.header(c2, "Subject", "after reload")
  mt.eoh(c2)
  mt.bodystring(c2, "x\r\n")
  mt.eom(c2)
  if not mt.eom_check(c2, MT_HDRINSERT, "Authentication-Results", " new.test; none") then
    error("new session did not get authserv_id new.test")
  end
  mt.disconnect(c2)
  mt.echo("reload ok")
end)
if not ok then mt.echo("error: " .. tostring(err)); os.exit(1) end
