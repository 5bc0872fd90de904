-- pipeline.lua makes wrk pipeline HTTP/1.1 requests: each write sends a
-- batch of depth requests, and wrk reads all of their responses before it
-- sends the next batch (it counts the requests a batch holds when it
-- starts). Every request is wrk's default, wrk.format(): the method, path
-- and headers of the command line (GET of the URL's path, with Host).
--
--   wrk -t1 -c8 -d1s -s pipeline.lua http://127.0.0.1:8080/ 16
--
-- The depth is the first number among the script's arguments (those after
-- the URL; a "--" before them is ignored), 16 if none is given.

local depth = 16
local batch

function init(args)
   for _, arg in ipairs(args) do
      local n = tonumber(arg)
      if n and n >= 1 then
         depth = math.floor(n)
         break
      end
   end
   local requests = {}
   for i = 1, depth do
      requests[i] = wrk.format()
   end
   batch = table.concat(requests)
end

function request()
   return batch
end
