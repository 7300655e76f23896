--- Output of the `hcsshim` command: `--json` documents or text tables,
-- messages on stderr, and docker's exit-code habits.
-- @module hcsshim.cli.out
local hcsshim = require "hcsshim"

local M = {}

--- Exit codes as docker uses them: 125 the tool itself failed, 126 the
-- command could not be invoked, 127 the command was not found.
M.TOOL, M.CANNOT_INVOKE, M.NOT_FOUND = 125, 126, 127

--- A failure of the command: raised by the subcommands, caught by main.
-- @tparam string|table msg text or an hcsshim.error
-- @tparam[opt] integer code exit code (default 125)
function M.fail(msg, code)
  error({ cli_failure = true, message = tostring(msg), code = code or M.TOOL }, 0)
end

--- The value, or a failure with the error's text.
function M.check(v, err, code)
  if v == nil or v == false then M.fail(err, code) end
  return v
end

--- The exit code for a process-creation failure: 127 not found, 126 could
-- not be invoked (not executable, denied, ...).
-- @tparam table err hcsshim.error of CreateProcess
-- @treturn integer
function M.invoke_code(err)
  local H = hcsshim.error.hresult
  local hr = type(err) == "table" and err.hresult
  if hr == H.E_FILE_NOT_FOUND or hr == H.E_PATH_NOT_FOUND then return M.NOT_FOUND end
  -- a file that is there but cannot be run (no exec bit, a directory)
  if hr == H.E_ACCESSDENIED then return M.CANNOT_INVOKE end
  local text = tostring(err)
  if text:find("not found", 1, true) or text:find("No such file", 1, true) then return M.NOT_FOUND end
  return M.CANNOT_INVOKE
end

--- Write a document: JSON with `--json`, else `render(doc)`.
-- @tparam table args parsed arguments (`args.json`)
-- @param doc the data
-- @tparam[opt] function render text renderer; default pretty JSON
function M.emit(args, doc, render)
  if args.json or not render then
    io.stdout:write(assert(hcsshim.json.encode(doc)), "\n")
  else
    render(doc)
  end
end

--- Write a list: a JSON array (also when empty) with `--json`.
function M.emit_list(args, list, render)
  M.emit(args, hcsshim.json.array(list), render)
end

--- Print rows under headers, columns padded to their widest cell.
-- @tparam table headers array of strings
-- @tparam table rows array of arrays
function M.table(headers, rows)
  local width = {}
  for i, h in ipairs(headers) do width[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #headers do width[i] = math.max(width[i], #tostring(r[i] or "")) end
  end
  local function line(cells)
    local parts = {}
    for i = 1, #headers do
      local c = tostring(cells[i] or "")
      parts[i] = i < #headers and c .. string.rep(" ", width[i] - #c) or c
    end
    io.stdout:write(table.concat(parts, "   "), "\n")
  end
  line(headers)
  for _, r in ipairs(rows) do line(r) end
end

--- Bytes as text ("12.3 MiB").
function M.bytes(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n, i = n / 1024, i + 1 end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[i])
end

return M
