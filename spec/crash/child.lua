-- The client the crash harness kills (spec/crash/harness.lua): one
-- container's life through the public API, each step between markers on
-- stdout ("B <step>" before, "A <step>" after, "F <step> <error>" when it
-- failed).  CRASH_PAUSE = "B:<step>" or "A:<step>" holds the child at that
-- marker until the file CRASH_GO exists, so that a kill lands exactly
-- there.  On a failure the child does what a client does: removes what it
-- made for the system (`hcsshim.remove_run`), then exits 3.
local hcsshim = require "hcsshim"
local hns = require "hcsshim.hns"
local run = require "hcsshim.run"
local core = require "hcsshim.core"

local id, home, tar = os.getenv("CRASH_ID"), os.getenv("CRASH_HOME"), os.getenv("CRASH_TAR")
local pause, go = os.getenv("CRASH_PAUSE"), os.getenv("CRASH_GO")

local function say(...)
  io.stdout:write(table.concat({ ... }, " "), "\n")
  io.stdout:flush()
end

local function mark(what, step)
  say(what, step)
  if pause ~= what .. ":" .. step then return end
  while true do
    local f = io.open(go)
    if f then
      f:close()
      return
    end
    core.sleep(0.005)
  end
end

local s = {}

-- Each step returns true or nil, err.
local steps = {
  { "import", function()
    local err
    s.base, err = run.rootfs_layer(home, tar)
    return s.base ~= nil, err
  end },
  { "network", function()
    local err
    s.net, err = hns.create_network({ Name = os.getenv("CRASH_NET"), Type = "nat",
      Subnets = { { AddressPrefix = "172.29.93.0/24", GatewayAddress = "172.29.93.1" } } })
    return s.net ~= nil, err
  end },
  { "endpoint", function()
    local err
    s.ep, err = hns.create_endpoint({ Name = id, VirtualNetwork = s.net.ID })
    return s.ep ~= nil, err
  end },
  { "sandbox", function()
    local sb, parents = id .. run.SANDBOX_SUFFIX, { home .. "/" .. s.base }
    local ok, err = hcsshim.create_sandbox_layer(home, sb, s.base, parents)
    if ok then ok, err = hcsshim.activate_layer(home, sb) end
    if ok then ok, err = hcsshim.prepare_layer(home, sb, parents) end
    if ok then s.mount, err = hcsshim.get_layer_mount_path(home, sb) end
    return s.mount ~= nil, err
  end },
  { "create", function()
    local err
    s.c, err = hcsshim.create_container(id, { Name = id, VolumePath = s.mount,
      LayerFolderPath = home .. "/" .. id .. run.SANDBOX_SUFFIX, EndpointList = { s.ep.ID },
      Layers = { { ID = hcsshim.new_guid(), Path = home .. "/" .. s.base } },
      -- as run{} records it; the system outlives its killed client (no
      -- TerminateOnLastHandleClosed), so that reopening can be tried
      Owner = run.OWNER .. ";" .. assert(run.creator()) }, 30)
    return s.c ~= nil, err
  end },
  { "start", function() return s.c:start(30) end },
  { "exec", function()
    local err
    s.p, err = s.c:create_process({ CommandLine = "sleep 1000" })
    return s.p ~= nil, err
  end },
  { "attach", function()
    local err
    s.ep2, err = hns.create_endpoint({ Name = id .. "-hot", VirtualNetwork = s.net.ID })
    if not s.ep2 then return nil, err end
    return hns.hot_attach_endpoint(id, s.ep2.ID)
  end },
  { "detach", function() return hns.hot_detach_endpoint(id, s.ep2.ID) end },
  { "shutdown", function()
    local ok, err = s.c:shutdown()
    if ok then ok, err = s.c:wait(30) end
    return ok, err
  end },
  { "remove", function()
    s.p:close()
    s.c:close()
    local ok, err = hcsshim.remove_run(id, { home = home })
    if ok then ok, err = hns.delete_endpoint(s.ep2.ID) end
    if ok then ok, err = hns.delete_network(s.net.ID) end
    if ok then ok, err = hcsshim.destroy_layer(home, s.base) end
    return ok, err
  end },
}

for _, st in ipairs(steps) do
  local name, f = st[1], st[2]
  mark("B", name)
  local ok, res, err = pcall(f)
  if not ok or not res then
    say("F", name, (tostring(ok and err or res):gsub("%s+", " ")))
    if s.p then s.p:close() end
    if s.c then s.c:close() end
    local rok, rerr = hcsshim.remove_run(id, { home = home })
    if s.ep2 then hns.delete_endpoint(s.ep2.ID) end
    say("R", tostring(rok), (tostring(rerr):gsub("%s+", " ")))
    os.exit(3)
  end
  mark("A", name)
end
say("DONE")
