-- tshark tap for oracle_h2.py: one line per frame, the wanted fields IN TREE ORDER, so each
-- HTTP/2 header, gRPC message and WebSocket frame is attributed to the HTTP/2 frame (stream id)
-- or TCP connection it belongs to. `-T fields` loses that order, and `-T json` is hundreds of
-- megabytes for a capture with large bodies.
--   SHK_FIELDS="a b c"      fields printed as name=value (value escaped: \\ \t \n \r)
--   SHK_LEN_FIELDS="x y"    fields printed as name#len=<bytes the field covers>
-- Line: <frame number>\t<name=value>\t...
local wanted, lens = {}, {}
for name in string.gmatch(os.getenv("SHK_FIELDS") or "", "%S+") do wanted[name] = true end
for name in string.gmatch(os.getenv("SHK_LEN_FIELDS") or "", "%S+") do lens[name] = true end

local function esc(s)
  return (string.gsub(s, "[\\\t\n\r]", {["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r"}))
end

local tap = Listener.new("frame", nil, true)

function tap.packet(pinfo, tvb)
  local parts = {tostring(pinfo.number)}
  for _, fi in ipairs({all_field_infos()}) do
    local n = fi.name
    if lens[n] then parts[#parts + 1] = n .. "#len=" .. tostring(fi.len) end
    if wanted[n] then parts[#parts + 1] = n .. "=" .. esc(tostring(fi.value)) end
  end
  if #parts > 1 then print(table.concat(parts, "\t")) end
end
