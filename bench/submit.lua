-- wrk script for `make bench`: POST /v1/comments, cycling through pre-built bodies.
--
-- Usage: wrk ... -s bench/submit.lua URL -- BODIES_FILE API_KEY THREADS [FIRST]
-- Each line of BODIES_FILE is a JSON body with one @@EMAIL@@ and one @@IP@@ placeholder
-- (bench/corpus.py); every request gets its own author email and client IP so per-author
-- flood and duplicate rules see many senders, as in a botnet wave. FIRST offsets the sender
-- numbers so consecutive runs (warm-up, then the measurement) never reuse a sender.
-- Results: done() writes a JSON summary to the file named by $WRK_OUT.

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local heads, mids, tails = {}, {}, {}
local n_bodies = 0
local counter = 0
local stride = 1
local headers = {}

function init(args)
  local path, key = args[1], args[2]
  stride = tonumber(args[3]) or 1
  for line in io.lines(path) do
    local e1, e2 = string.find(line, "@@EMAIL@@", 1, true)
    local i1, i2 = string.find(line, "@@IP@@", 1, true)
    assert(e1 and i1 and e1 < i1, "each body needs @@EMAIL@@ before @@IP@@")
    n_bodies = n_bodies + 1
    heads[n_bodies] = string.sub(line, 1, e1 - 1)
    mids[n_bodies] = string.sub(line, e2 + 1, i1 - 1)
    tails[n_bodies] = string.sub(line, i2 + 1)
  end
  assert(n_bodies > 0, "no bodies in " .. path)
  headers["Authorization"] = "Bearer " .. key
  headers["Content-Type"] = "application/json"
  counter = (tonumber(args[4]) or 0) + tid
end

function request()
  local n = counter
  counter = counter + stride
  local i = n % n_bodies + 1
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  local body = heads[i] .. "r" .. n .. "@wave.example" .. mids[i] .. ip .. tails[i]
  return wrk.format("POST", "/v1/comments", headers, body)
end

function done(summary, latency, requests)
  local out = os.getenv("WRK_OUT")
  local e = summary.errors
  local parts = {
    string.format('"duration_us":%d', summary.duration),
    string.format('"requests":%d', summary.requests),
    string.format('"bytes":%d', summary.bytes),
    string.format('"errors_connect":%d', e.connect),
    string.format('"errors_read":%d', e.read),
    string.format('"errors_write":%d', e.write),
    string.format('"errors_status":%d', e.status),
    string.format('"errors_timeout":%d', e.timeout),
    string.format('"latency_mean_us":%.1f', latency.mean),
    string.format('"latency_max_us":%d', latency.max),
  }
  for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
    table.insert(parts, string.format('"latency_p%s_us":%d', tostring(p):gsub("%.", "_"), latency:percentile(p)))
  end
  local doc = "{" .. table.concat(parts, ",") .. "}"
  if out and out ~= "" then
    local f = assert(io.open(out, "w"))
    f:write(doc, "\n")
    f:close()
  else
    io.write(doc, "\n")
  end
end
