--- Container images as users produce them: an OCI image layout (a folder,
-- or a tar of one), an oci-archive, or a docker-archive (`docker save`,
-- `podman save`), with uncompressed, gzip or zstd layers.
--
--     local image = require "hcsshim.image"
--     local img = assert(image.import("debian.tar"))
--     hcsshim.run{ image = img, args = { "cat", "/etc/os-release" } }
--
-- Stands on the public layer API only.  Layers are read-only layers of a
-- layer home (default `<data root>/layers`), named by their OCI chain id
-- (hex, without "sha256:"): ChainID(L0) = DiffID(L0), ChainID(Ln) =
-- sha256(ChainID(Ln-1) .. " " .. DiffID(Ln)); so two images sharing a
-- base share its layers, imported once.  Image records (name -> manifest
-- digest, config, diff ids, chain ids) are JSON files in
-- `<home>/.images/`, replaced atomically.
--
-- Every digest is checked before any layer is made: manifest, config and
-- index blobs against their descriptors, layer blobs against the
-- manifest, and the decompressed layers against the config's `diff_ids`.
--
-- Failures return `nil, err` (an `hcsshim.error` with op
-- "hcsshim::ImportImage", ...): a digest mismatch is ERROR_CRC
-- (0x80070017) and names the blob; a missing platform or an unsupported
-- format is ErrNotSupported (`is_not_supported`); an unknown image is
-- ErrElementNotFound (`is_not_exist`).  Linux only for now.
-- @module hcsshim.image
local core = require "hcsshim.core"
local errors = require "hcsshim.error"
local layer = require "hcsshim.layer"
local fmt = require "hcsshim.image_format"
local source = require "hcsshim.image_source"
local store = require "hcsshim.image_store"

local M = {}

local H = errors.hresult
local E_NOT_FOUND, E_NOT_SUPPORTED, E_INVALIDARG = H.E_NOT_FOUND, H.E_NOT_SUPPORTED, H.E_INVALIDARG
local E_CRC, E_BAD_FORMAT, E_FAIL = H.E_CRC, H.E_BAD_FORMAT, H.E_FAIL

-- an HcsError: "hcsshim::<op> failed in Win32: <text> (<detail>) (0x..) <rest>"
local function ierr(op, hr, detail, rest) return errors.hcs(op, rest, hr, nil, detail) end

local default_home = layer._default_home

--- Chain ids of a list of diff ids (OCI image spec, "Layer ChainID").
-- @tparam table diff_ids array of "sha256:<hex>"
-- @treturn table array of "sha256:<hex>"
function M.chain_ids(diff_ids)
  local out = {}
  for i, d in ipairs(diff_ids) do out[i] = i == 1 and d or core.sha256(out[i - 1] .. " " .. d) end
  return out
end

-- layer blobs against the manifest and the config's diff_ids
local function verify(img, progress)
  local diff_ids = type(img.config.rootfs) == "table" and img.config.rootfs.diff_ids or {}
  if #diff_ids ~= #img.layers then
    return nil, ierr("ImportImage", E_BAD_FORMAT,
      ("the config lists %d diff_ids for %d layers"):format(#diff_ids, #img.layers))
  end
  local done = 0
  for i, l in ipairs(img.layers) do
    local step = progress and function(b) progress(done + b, i - 1, "verify") end
    local blob, diff, compression, size, _, why = core.blob_digests(l.file, step)
    local what = l.digest or l.name
    if not blob then
      return nil, ierr("ImportImage", E_BAD_FORMAT, ("layer %s: %s"):format(what, diff))
    end
    if l.digest and blob ~= l.digest then
      return nil, ierr("ImportImage", E_CRC,
        ("blob %s (layer %d): digest mismatch: the content has %s"):format(l.digest, i, blob))
    end
    if math.type(l.size) == "integer" and l.size ~= size then
      return nil, ierr("ImportImage", E_CRC, ("blob %s (layer %d): %d bytes, the manifest says %d")
        :format(what, i, size, l.size))
    end
    if not diff then
      return nil, ierr("ImportImage", E_BAD_FORMAT, ("blob %s (layer %d): %s"):format(what, i, why))
    end
    if diff ~= diff_ids[i] then
      return nil, ierr("ImportImage", E_CRC, ("blob %s (layer %d, %s): the uncompressed content "
        .. "has %s, the config's diff_id is %s")
          :format(what, i, compression, diff, tostring(diff_ids[i])))
    end
    l.compression, l.bytes = compression, size
    done = done + size
  end
  return diff_ids
end

-- imports the layers not yet in `home`; returns the ids it made
-- (into `made`, for the caller to undo)
local function import_layers(home, img, chain, progress, made)
  local parents, bytes = {}, 0
  for i, l in ipairs(img.layers) do
    local id = chain[i]:sub(8)
    local exists, err = layer.layer_exists(home, id)
    if exists == nil then return nil, err end
    if not exists then
      local done = bytes
      local step = progress and function(b) progress(done + math.min(b, l.bytes or b), i - 1, "import") end
      local ok, lerr = layer.import_layer(home, id, l.file, parents, step)
      -- (it may exist now all the same: a concurrent import made it)
      if ok then made[#made + 1] = id
      elseif not layer.layer_exists(home, id) then return nil, lerr end
    end
    table.insert(parents, 1, home .. "/" .. id)
    bytes = bytes + (l.bytes or 0)
    if progress then progress(bytes, i, "import") end
  end
  return true
end

-- What an import made: its unpacked files always go when it ends; its
-- layers go unless it was `kept` (also when a progress callback raised).
local function import_scope(home)
  return setmetatable({ layers = {} }, { __close = function(self)
    if self.src then self.src.close() end
    if self.kept then return end
    for i = #self.layers, 1, -1 do layer.destroy_layer(home, self.layers[i]) end
  end })
end

-- removes layers of `ids` that no record and no sandbox of `home` uses
local function collect(home, ids)
  local used = store.layers_in_use(home)
  local removed = {}
  for i = #ids, 1, -1 do
    local id = ids[i]:sub(8)
    if not used[id] and layer.layer_exists(home, id) and layer.destroy_layer(home, id) then
      removed[#removed + 1] = id
    end
  end
  return removed
end

local function check_opts(opts, fname)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #2 to '" .. fname .. "' (table expected)", 3)
  end
  opts = opts or {}
  if opts.progress ~= nil and type(opts.progress) ~= "function" then
    error(fname .. ": `progress` must be a function", 3)
  end
  return opts, opts.home or default_home()
end

local function want_platform(opts)
  if opts.platform then
    local os_, arch, variant = tostring(opts.platform):match("^([^/]+)/([^/]+)/?([^/]*)$")
    if not os_ then error("import: `platform` must be \"os/arch[/variant]\"", 3) end
    return { os = os_, architecture = arch, variant = variant ~= "" and variant or nil }
  end
  local os_, arch, variant = source.host_platform()
  return { os = os_, architecture = arch, variant = variant }
end

local function records_of(img, home, format, diff_ids, chain, names)
  local recs = {}
  local size = 0
  for _, l in ipairs(img.layers) do size = size + (l.bytes or 0) end
  for i, name in ipairs(#names > 0 and names or { false }) do
    recs[i] = { name = name or nil, id = img.config_digest, manifest_digest = img.manifest_digest,
                format = format, home = home, config = img.config, diff_ids = diff_ids,
                chain_ids = chain, platform = img.config.os .. "/" .. img.config.architecture,
                size = size, imported = os.time() }
  end
  return recs
end

-- writes the records; an earlier image of the same name is replaced, and
-- its layers that nothing uses any more are removed
local function commit(home, recs)
  local old = {}
  for _, r in ipairs(recs) do
    for _, o in ipairs(r.name and store.find(home, r.name) or {}) do
      if o.name == r.name and o.id ~= r.id then old[#old + 1] = o end
    end
    local ok, err = store.write(home, r)
    if not ok then return nil, ierr("ImportImage", E_FAIL, err) end
  end
  for _, o in ipairs(old) do collect(home, o.chain_ids or {}) end
  return true
end

--- Import an image: verify every digest, import the layers this home
-- lacks (keyed by chain id), and record the image.
-- @tparam string path an OCI layout folder, an oci-archive, a docker-archive
-- (or an OCI layout tar; a gzip-compressed archive too)
-- @tparam[opt] table opts
--  * `home`: layer home (default `<data root>/layers`, the data root being
--    `HCSSHIM_DATA_ROOT` or /var/lib/hcsshim)
--  * `name`: the image name to record (default: the archive's own name,
--    RepoTags or the `org.opencontainers.image.ref.name` annotation; an
--    image without one is known by its id)
--  * `ref`: which image of an archive holding several (name or tag)
--  * `platform`: "os/arch[/variant]" to import (default the host's, GOARCH
--    style: linux/amd64 on x86_64); an index without it is refused
--  * `progress`: function(bytes, entries, step) called as the import
--    goes: step "read" (bytes and entries of the archive unpacked so far),
--    "verify" (layer blob bytes hashed, layers done), "import" (layer blob
--    bytes imported, layers done)
-- @treturn table|nil,hcsshim.error the image record: `{name, id (config
-- digest), manifest_digest (nil for docker-archive), format, home,
-- config (the OCI image config), diff_ids, chain_ids, platform, size
-- (bytes of layer blobs), imported (epoch seconds)}`.  On failure
-- nothing this call made is left (layers it imported, unpacked files).
function M.import(path, opts)
  if type(path) ~= "string" then error("bad argument #1 to 'import' (string expected)", 2) end
  local home
  opts, home = check_opts(opts, "import")
  local want = want_platform(opts)
  if not core.archive_unpack then
    return nil, ierr("ImportImage", E_NOT_SUPPORTED, "image import needs Linux")
  end
  local format = fmt.detect(path)
  if not format then
    return nil, ierr("ImportImage", E_NOT_SUPPORTED,
      path .. " is not an OCI image layout, oci-archive or docker-archive"
      .. " (a layer tar goes to import_layer)")
  end
  local ok, derr = core.make_dirs(store.dir(home))
  if not ok then return nil, ierr("ImportImage", E_FAIL, derr) end
  local scope <close> = import_scope(home)
  local src, serr = source.open(path, format, store.dir(home) .. "/tmp-" .. core.new_guid(),
    opts.progress and function(b, n) opts.progress(b, n, "read") end)
  if not src then return nil, ierr("ImportImage", E_BAD_FORMAT, serr.message, "path=" .. path) end
  scope.src = src
  local img, err = source.image(src, want, opts.ref)
  local diff_ids, chain
  if img then diff_ids, err = verify(img, opts.progress) end
  if diff_ids then
    chain = M.chain_ids(diff_ids)
    ok, err = import_layers(home, img, chain, opts.progress, scope.layers)
  elseif not errors.is_error(err) then
    local hr = err.class == "digest" and E_CRC or err.class == "platform" and E_NOT_SUPPORTED
      or E_BAD_FORMAT
    err = ierr("ImportImage", hr, err.message, "path=" .. path)
  end
  if not diff_ids or not ok then return nil, err end
  local names = opts.name and { opts.name } or img.names
  local recs = records_of(img, home, format, diff_ids, chain, names)
  ok, err = commit(home, recs)
  if not ok then return nil, err end
  scope.kept = true
  return recs[1]
end

--- The images recorded in a layer home.
-- @tparam[opt] table opts `{home=}`
-- @treturn table array of image records (see `import`), by name
function M.list(opts)
  local _, home = check_opts(opts, "list")
  return store.all(home)
end

local function resolve(ref, opts, op)
  if type(ref) == "table" and ref.id then return { ref } end
  if type(ref) ~= "string" then
    error("bad argument #1 to '" .. op .. "' (image name, id or record expected)", 3)
  end
  local _, home = check_opts(opts, op)
  local hits = store.find(home, ref)
  if #hits == 0 then
    return nil, ierr(op == "inspect" and "InspectImage" or "RemoveImage", E_NOT_FOUND,
      "no image " .. ref, "home=" .. home)
  end
  return hits
end

--- One image's record, by name or id.
-- @tparam string ref image name ("localhost/x:1", "x:1", "x" = "x:latest")
-- or id ("sha256:<hex>", or 12+ leading hex digits)
-- @tparam[opt] table opts `{home=}`
-- @treturn table|nil,hcsshim.error the record (ErrElementNotFound when unknown)
function M.inspect(ref, opts)
  local hits, err = resolve(ref, opts, "inspect")
  if not hits then return nil, err end
  return hits[1]
end

--- Remove an image: its record(s), then its layers that no other image
-- and no sandbox of the home uses.
-- @tparam string|table ref image name, id or record; an id that several
-- names share is refused unless `opts.force`
-- @tparam[opt] table opts `{home=, force=}`
-- @treturn table|nil,hcsshim.error the ids of the layers removed
function M.remove(ref, opts)
  local hits, err = resolve(ref, opts, "remove")
  if not hits then return nil, err end
  local home = hits[1].home or select(2, check_opts(opts, "remove"))
  if #hits > 1 and not (opts and opts.force) then
    local names = {}
    for i, r in ipairs(hits) do names[i] = r.name or r.id end
    return nil, ierr("RemoveImage", E_INVALIDARG,
      ("%s names %d images (%s); pass force to remove them all")
        :format(tostring(ref), #hits, table.concat(names, ", ")))
  end
  local ids = {}
  for _, r in ipairs(hits) do
    local ok, derr = store.delete(home, r)
    if not ok then return nil, ierr("RemoveImage", E_FAIL, derr) end
    for _, c in ipairs(r.chain_ids or {}) do ids[#ids + 1] = c end
  end
  return collect(home, ids)
end

--- The read-only layer paths of an image, nearest (topmost) first, as
-- `create_sandbox_layer`, `prepare_layer` and ContainerConfig.Layers take them.
-- @tparam table img an image record
-- @treturn table array of layer folder paths
function M.layers(img)
  local out = {}
  for i = #img.chain_ids, 1, -1 do out[#out + 1] = img.home .. "/" .. img.chain_ids[i]:sub(8) end
  return out
end

--- A ProcessConfig from the image's defaults and `overrides`, as `docker
-- run` combines them: CommandArgs = Entrypoint .. Cmd (an override
-- `args` replaces Cmd; `entrypoint` replaces Entrypoint and drops Cmd;
-- CommandLine or CommandArgs replace both), Environment = Env with the
-- override's Environment on top, WorkingDirectory = WorkingDir, User = User.
-- @tparam table img an image record
-- @tparam[opt] table overrides ProcessConfig fields (HCS names), plus
-- `args` and `entrypoint` (arrays of strings)
-- @treturn table|nil,hcsshim.error ProcessConfig (E_INVALIDARG when there is no command)
function M.process_config(img, overrides)
  overrides = overrides or {}
  local c = type(img.config) == "table" and type(img.config.config) == "table" and img.config.config
    or {}
  local cfg = {}
  for k, v in pairs(overrides) do if k ~= "args" and k ~= "entrypoint" then cfg[k] = v end end
  if cfg.CommandLine == nil and cfg.CommandArgs == nil then
    local args = {}
    local entry = overrides.entrypoint or c.Entrypoint or {}
    local cmd = overrides.args or (overrides.entrypoint == nil and c.Cmd) or {}
    for _, a in ipairs(entry) do args[#args + 1] = a end
    for _, a in ipairs(cmd) do args[#args + 1] = a end
    if #args == 0 then
      return nil, ierr("ProcessConfig", E_INVALIDARG,
        "the image has no Entrypoint or Cmd: give a command")
    end
    cfg.CommandArgs = args
  end
  local env = {}
  for _, kv in ipairs(c.Env or {}) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if k then env[k] = v end
  end
  for k, v in pairs(overrides.Environment or {}) do env[k] = v end
  if next(env) then cfg.Environment = env end
  if cfg.WorkingDirectory == nil and c.WorkingDir and c.WorkingDir ~= "" then
    cfg.WorkingDirectory = c.WorkingDir
  end
  if cfg.User == nil and c.User and c.User ~= "" then cfg.User = c.User end
  return cfg
end

return M
