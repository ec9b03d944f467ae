-- ratelimit_login.lua - messages of one logged-in account straight to a
-- relayguard daemon, as an MTA would send them (run by t_ratelimit_redis.sh).
-- Environment: RG_SOCKET, RG_LOGIN, RG_COUNT. One line per message:
-- "message N continue" or "message N refused".
-- miltertest prints nothing on error(): report through mt.echo and exit 1.
local ok, err = pcall(function()
  local spec = os.getenv("RG_SOCKET")
  local login = os.getenv("RG_LOGIN")
  local count = tonumber(os.getenv("RG_COUNT"))
  for n = 1, count do
    local conn = mt.connect(spec)
    if conn == nil then error("cannot connect to " .. spec) end
    if mt.conninfo(conn, "client.example", "192.0.2.31") ~= nil then error("conninfo failed") end
    if mt.getreply(conn) ~= SMFIR_CONTINUE then error("connect: want continue") end
    mt.helo(conn, "client.example")
    mt.macro(conn, SMFIC_MAIL, "i", "QID" .. n, "{auth_authen}", login, "{auth_type}", "PLAIN")
    mt.mailfrom(conn, "<" .. login .. "@ours.example>")
    local r = mt.getreply(conn)
    -- with Redis the message's counters are answered at RCPT
    if r == SMFIR_CONTINUE then
      mt.rcptto(conn, "<r@far.example>")
      r = mt.getreply(conn)
    end
    if r == SMFIR_CONTINUE then
      mt.header(conn, "From", login .. "@ours.example")
      mt.eoh(conn)
      mt.bodystring(conn, "body\r\n")
      mt.eom(conn)
      mt.echo("message " .. n .. " continue")
    elseif r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL then
      mt.echo("message " .. n .. " refused")
    else
      error("message " .. n .. ": unexpected reply " .. tostring(r))
    end
    mt.disconnect(conn)
  end
end)
if not ok then mt.echo("error: " .. tostring(err)); os.exit(1) end
