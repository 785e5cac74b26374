-- One connection per thread: each thread PATCHes its own player and, when
-- IF_MATCH=1, sends the ETag of its previous answer as If-Match (the version
-- check passes every time, so the writes measured are successful ones).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
local useIfMatch = os.getenv("IF_MATCH") == "1"
local etag = nil
local n = 0
local bad = 0
function request()
  n = n + 1
  local headers = {["Content-Type"] = "application/json"}
  if useIfMatch and etag then headers["If-Match"] = etag end
  local body = '{"fname":"Name' .. (n % 1000) .. '"}'
  return wrk.format("PATCH", "/ch11/player/update/" .. id, headers, body)
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  etag = headers["ETag"] or headers["etag"]
end
