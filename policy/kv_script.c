/*
 * kv_script.c - the Lua script that changes counters in Redis (kv_redis.c
 * loads it with SCRIPT LOAD and runs it with EVALSHA)
 *
 * It is rg_kv_win_apply (kv.c) and the memory store's incr (kv_mem.c)
 * written again in Lua 5.1, the Lua of Redis: the unit tests run the same
 * table of cases against both backends to keep them in step.
 */
#include "kv_impl.h"

/*
 * The counter script; mode ARGV[1] "c" is rg_kv_check (KEYS: counters;
 * ARGV[2]: now in ms or -1 for Redis's clock; then add, window, limit per
 * key), "i" is rg_kv_incr (ARGV: delta, limit, ttl). Reply {0|1, count,
 * allowed, ...} (1: denied, nothing added), {2, key index} for a key of
 * another kind, {3} for a value that is not a counter. The arithmetic is
 * rg_kv_win_apply's (kv.c); every number stays below 2^53, so doubles are
 * exact.
 */
const char rg_kv_script[] =
    "if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
    "local CMAX, SCALE = 68719476736, 65536\n"
    "local function num(s)\n"
    "  if type(s) ~= 'string' or #s > 16 or not string.match(s, '^%-?%d+$')"
    " then return nil end\n"
    "  return tonumber(s)\n"
    "end\n"
    "local function fmt(x) return string.format('%d', x) end\n"
    "if ARGV[1] == 'i' then\n"
    "  local k, d, lim, ttl = KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]),"
    " ARGV[4]\n"
    "  local t, old = redis.call('TYPE', k).ok, 0\n"
    "  if t == 'string' then\n"
    "    old = num(redis.call('GET', k))\n"
    "    if old == nil or old > CMAX or old < -CMAX then return {3, 0, 0} end\n"
    "  elseif t ~= 'none' then return {2, 1, 0} end\n"
    "  local v = old + d\n"
    "  if d > 0 and lim >= 0 and v > lim then return {1, old, 0} end\n"
    "  if v < 0 then v = 0 elseif v > CMAX then v = CMAX end\n"
    "  if v == 0 then redis.call('DEL', k)\n"
    "  else redis.call('SET', k, fmt(v), 'PX', ttl) end\n"
    "  return {0, v, 1}\n"
    "end\n"
    "local now = tonumber(ARGV[2])\n"
    "if now < 0 then\n"
    "  local t = redis.call('TIME')\n"
    "  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "end\n"
    "local out, st, all = {0}, {}, true\n"
    "for j = 1, #KEYS do\n"
    "  local k = KEYS[j]\n"
    "  local add, w, lim = tonumber(ARGV[3*j]), tonumber(ARGV[3*j+1]),"
    " tonumber(ARGV[3*j+2])\n"
    "  local t, sw, sb, sc, sp = redis.call('TYPE', k).ok, -1, 0, 0, 0\n"
    "  if t == 'hash' then\n"
    "    local v = redis.call('HMGET', k, 'w', 'b', 'c', 'p')\n"
    "    sw, sb, sc, sp = num(v[1]), num(v[2]), num(v[3]), num(v[4])\n"
    "    if not (sw and sb and sc and sp) or sc < 0 or sp < 0 or sc > CMAX"
    " or sp > CMAX then return {2, j} end\n"
    "  elseif t ~= 'none' then return {2, j} end\n"
    "  local i, el = math.floor(now / w), 0\n"
    "  if sw ~= w then sb, sc, sp = i, 0, 0 end\n"
    "  if i < sb then i = sb else el = now - i * w end\n"
    "  local cur, prev = 0, 0\n"
    "  if i == sb then cur, prev = sc, sp\n"
    "  elseif i == sb + 1 then prev = sc end\n"
    "  local wt = math.floor((w - el) * SCALE / w)\n"
    "  local est = cur + math.ceil(prev * wt / SCALE)\n"
    "  out[2*j], out[2*j+1] = est, 1\n"
    "  if lim >= 0 and est + add > lim then\n"
    "    all, out[2*j+1] = false, 0\n"
    "  else\n"
    "    st[j] = {i, math.min(cur + add, CMAX), prev}\n"
    "  end\n"
    "end\n"
    "if not all then out[1] = 1 return out end\n"
    "for j = 1, #KEYS do\n"
    "  local add, w, s = tonumber(ARGV[3*j]), tonumber(ARGV[3*j+1]), st[j]\n"
    "  out[2*j] = math.min(out[2*j] + add, CMAX)\n"
    "  if add > 0 then\n"
    "    redis.call('HSET', KEYS[j], 'w', fmt(w), 'b', fmt(s[1]), 'c',"
    " fmt(s[2]), 'p', fmt(s[3]))\n"
    "    redis.call('PEXPIRE', KEYS[j], fmt((s[1] + 2) * w - now))\n"
    "  end\n"
    "end\n"
    "return out\n";
