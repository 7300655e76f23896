-- A layer that a compute system uses is never unmounted or destroyed under
-- it, and a failed create undoes only what it did (issue 9, item 1).
local hcsshim = require "hcsshim"
local env = require "support.env"

local E_BUSY = 0x800700AA

local function mounted(path)
  local _, ok = env.sh("mountpoint -q " .. path)
  return ok == true
end

-- a sandbox over the shared base layer, not activated
local function new_sandbox(id)
  local base = env.base_layer()
  assert(hcsshim.create_sandbox_layer(env.home, id, base.id, { base.path }))
  return env.home .. "/" .. id
end

-- a started container that the service mounts from LayerFolderPath
local function lfp_container(sb, base_path)
  local id = env.unique("use")
  local c = assert(hcsshim.create_container(id, { LayerFolderPath = sb,
    Layers = { { ID = hcsshim.new_guid(), Path = base_path or env.base_layer().path } } }))
  assert(c:start())
  return c, id
end

local function stop(c, id)
  c:terminate()
  c:wait(30)
  c:close()
  env.forget(id)
end

local function busy_naming(err, id)
  assert.is_not_nil(err)
  assert.equal(E_BUSY, err.hresult)
  assert.matches("in use by compute system " .. id:gsub("%-", "%%-"), tostring(err))
end

describe("layers in use by a compute system", function()
  it("a second create on the same sandbox fails naming the first, and the first keeps its root", function()
    local sbid = env.unique("sb")
    local sb = new_sandbox(sbid)
    local a, ida = lfp_container(sb)
    finally(function() stop(a, ida); hcsshim.destroy_layer(env.home, sbid) end)
    local idb = env.unique("use")
    local b, err = hcsshim.create_container(idb, { LayerFolderPath = sb,
      Layers = { { ID = hcsshim.new_guid(), Path = env.base_layer().path } } })
    assert.is_nil(b)
    assert.matches("already prepared", tostring(err))
    assert.matches("compute system " .. ida:gsub("%-", "%%-"), tostring(err))
    assert.is_true(mounted(sb .. "/mount"))
    assert.equal("busybox-test\n", (env.run(a, "cat /etc/os-release")))
  end)

  it("refuses to destroy the base layer, or unprepare, deactivate or destroy the sandbox, of a running system",
    function()
    local sbid = env.unique("sb")
    local sb = new_sandbox(sbid)
    local a, ida = lfp_container(sb)
    finally(function() stop(a, ida); hcsshim.destroy_layer(env.home, sbid) end)
    busy_naming(select(2, hcsshim.destroy_layer(env.home, env.base_layer().id)), ida)
    busy_naming(select(2, hcsshim.unprepare_layer(env.home, sbid)), ida)
    busy_naming(select(2, hcsshim.deactivate_layer(env.home, sbid)), ida)
    busy_naming(select(2, hcsshim.destroy_layer(env.home, sbid)), ida)
    assert.is_true(mounted(sb .. "/mount"))
    assert.is_true(hcsshim.layer_exists(env.home, env.base_layer().id))
    assert.equal("busybox-test\n", (env.run(a, "cat /etc/os-release")))
  end)

  it("refuses to destroy a sandbox's parent or unprepare a VolumePath sandbox while its system runs", function()
    local c, cleanup, id = env.container()
    finally(cleanup)
    assert(c:start())
    busy_naming(select(2, hcsshim.unprepare_layer(env.home, id .. "-sb")), id)
    busy_naming(select(2, hcsshim.destroy_layer(env.home, env.base_layer().id)), id)
    assert.equal("busybox-test\n", (env.run(c, "cat /etc/os-release")))
  end)

  it("holds a base layer named in Layers even when nothing mounts it", function()
    local base = env.base_layer()
    local pid = env.unique("ro")
    assert(hcsshim.import_layer(env.home, pid, env.busybox_tar()))
    local _, cleanup, id = env.container({ Layers = {
      { ID = hcsshim.new_guid(), Path = base.path },
      { ID = hcsshim.new_guid(), Path = env.home .. "/" .. pid } } })
    finally(function() cleanup(); hcsshim.destroy_layer(env.home, pid) end)
    busy_naming(select(2, hcsshim.destroy_layer(env.home, pid)), id)
    cleanup()
    assert(hcsshim.destroy_layer(env.home, pid))
  end)

  it("leaves a sandbox that the caller prepared mounted when a create on it fails", function()
    local sbid = env.unique("sb")
    local mount, undo = env.sandbox(sbid)
    finally(undo)
    local b, err = hcsshim.create_container(env.unique("use"), {
      LayerFolderPath = env.home .. "/" .. sbid,
      Layers = { { ID = hcsshim.new_guid(), Path = env.base_layer().path } } })
    assert.is_nil(b)
    assert.matches("already prepared", tostring(err))
    assert.is_true(mounted(mount))
  end)

  it("a create with an id in use changes nothing of the running system", function()
    local c, cleanup, id = env.container()
    finally(cleanup)
    assert(c:start())
    local sbid = env.unique("sb")
    local sb = new_sandbox(sbid)
    finally(function() cleanup(); hcsshim.destroy_layer(env.home, sbid) end)
    local b, err = hcsshim.create_container(id, { LayerFolderPath = sb,
      Layers = { { ID = hcsshim.new_guid(), Path = env.base_layer().path } } })
    assert.is_nil(b)
    assert.matches("already exists", tostring(err))
    assert.is_false(mounted(sb .. "/mount"))
    busy_naming(select(2, hcsshim.unprepare_layer(env.home, id .. "-sb")), id)
    assert.equal("busybox-test\n", (env.run(c, "cat /etc/os-release")))
  end)

  it("frees every layer once the system has stopped", function()
    local sbid = env.unique("sb")
    local sb = new_sandbox(sbid)
    local a, ida = lfp_container(sb)
    stop(a, ida)
    assert.is_false(mounted(sb .. "/mount"))
    assert(hcsshim.destroy_layer(env.home, sbid))
  end)
end)
