-- stages.lua - milter stages as an MTA drives them (run by t_stages.sh):
-- two messages on one connection, the second aborted; the recipient cap;
-- a connection that closes before any command.
-- miltertest prints nothing on error(): report through mt.echo and exit 1.
local ok, err = pcall(function()
  local spec = os.getenv("RG_SOCKET")
  local conn = mt.connect(spec)
  if conn == nil then error("cannot connect to " .. spec) end
  mt.macro(conn, SMFIC_CONNECT, "j", "mx.stages.test")
  if mt.conninfo(conn, "client.example", "192.0.2.7") ~= nil then error("conninfo failed") end
  if mt.getreply(conn) ~= SMFIR_CONTINUE then error("connect: want continue") end
  if mt.helo(conn, "client.example") ~= nil then error("helo failed") end

  -- message 1: delivered, header inserted
  mt.macro(conn, SMFIC_MAIL, "i", "QIDONE")
  mt.mailfrom(conn, "<one@ours.example>")
  if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mail 1: want continue") end
  mt.rcptto(conn, "<a@far.example>")
  if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt 1a: want continue") end
  mt.rcptto(conn, "<b@far.example>")
  if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt 1b: want continue") end
  -- max_recipients = 2: the third gets a 452 reply code
  mt.rcptto(conn, "<c@far.example>")
  if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("rcpt 1c: want a reply code (452)") end
  mt.header(conn, "From", "one@ours.example")
  mt.header(conn, "Subject", "first")
  mt.eoh(conn)
  mt.bodystring(conn, "body one\r\n")
  mt.eom(conn)
  if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", " stages.test; none") then
    error("message 1: no Authentication-Results \" stages.test; none\" (leading space: SMFIP_HDR_LEADSPC)")
  end

  -- message 2 on the same connection: aborted after RCPT
  mt.macro(conn, SMFIC_MAIL, "i", "QIDTWO")
  mt.mailfrom(conn, "<two@ours.example>")
  mt.rcptto(conn, "<d@far.example>")
  if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt 2: want continue") end
  mt.abort(conn)
  mt.disconnect(conn)

  -- a connection that ends before connect info
  local c2 = mt.connect(spec)
  if c2 == nil then error("second connect failed") end
  mt.disconnect(c2)
  mt.echo("stages ok")
end)
if not ok then mt.echo("error: " .. tostring(err)); os.exit(1) end
