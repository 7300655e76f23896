--- Reading an image (OCI layout folder, oci-archive, docker-archive) into
-- one description: which manifest and config, and each layer blob's file
-- with the digests it must have.  Archives are unpacked by
-- `core.archive_unpack` into generated file names; the archive's own
-- names are only looked up here, lexically, inside the archive.  Nothing
-- is trusted before its digest is checked (`hcsshim.image` checks layer
-- blobs; manifests, indexes and configs are checked here on reading).
-- @module hcsshim.image_source
local core = require "hcsshim.core"
local json = require "hcsshim.json"
local fmt = require "hcsshim.image_format"

local M = {}

local INDEX_TYPES = {
  ["application/vnd.oci.image.index.v1+json"] = true,
  ["application/vnd.docker.distribution.manifest.list.v2+json"] = true,
}
local REF_ANNOTATIONS = { "io.containerd.image.name", "org.opencontainers.image.ref.name" }

--- GOARCH of this host (amd64, arm64, ...), as OCI platforms name it.
-- @treturn string os, architecture, variant (or nil)
function M.host_platform()
  local p = io.popen("uname -m 2>/dev/null")
  local m = p and p:read("l") or ""
  if p then p:close() end
  local map = { x86_64 = { "amd64" }, aarch64 = { "arm64", "v8" }, armv7l = { "arm", "v7" },
                armv6l = { "arm", "v6" }, i686 = { "386" }, i386 = { "386" },
                ppc64le = { "ppc64le" }, s390x = { "s390x" }, riscv64 = { "riscv64" },
                mips64 = { "mips64" } }
  local a = map[m] or { m }
  return "linux", a[1], a[2]
end

-- "a/./b/../c" -> "a/c" inside the archive; nil when it leaves the root
local function lexical(name, base)
  local parts = {}
  if base and name:sub(1, 1) ~= "/" then
    for seg in base:gmatch("[^/]+") do parts[#parts + 1] = seg end
  end
  for seg in name:gmatch("[^/]+") do
    if seg == ".." then
      if #parts == 0 then return nil end
      parts[#parts] = nil
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return table.concat(parts, "/")
end

local function new_error(message, class) return { message = message, class = class } end

-- nil and an error table; class "digest", "platform" or nil
local function fail(class, text, ...) return nil, new_error(text:format(...), class) end

-- the file of archive member `name`, following links inside the archive
local function resolve(entries, name)
  local cur = lexical(name)
  for _ = 1, 40 do
    local e = cur and entries[cur]
    if not e then return fail(nil, "%q is missing from the image", name) end
    if e.file then return e.file end
    local dir = cur:match("^(.*)/[^/]*$") or ""
    cur = lexical(e.link, not e.hard and dir or nil)
  end
  return fail(nil, "%q: too many links", name)
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, new_error(err) end
  local s = f:read("a")
  f:close()
  return s
end

--- Opens the image at `path`: a source with `format`, `file(name)` (the
-- local path of a member, or nil and an error), `read(name)` and
-- `close()` (removes what unpacking made).
-- @tparam string path
-- @tparam string format from `hcsshim.image_format.detect`
-- @tparam string staging a folder to unpack into (made, and removed by close)
-- @tparam[opt] function progress (bytes, entries)
-- @return source | nil, error message table
function M.open(path, format, staging, progress)
  local src = { format = format }
  if fmt.is_dir(path) then
    function src.file(name)
      local clean = lexical(name)
      if not clean or clean == "" then return fail(nil, "%q leaves the image folder", name) end
      local f = io.open(path .. "/" .. clean)
      if not f then return fail(nil, "%q is missing from the image", name) end
      f:close()
      return path .. "/" .. clean
    end
    function src.close() end
  else
    local entries, err = core.archive_unpack(path, staging, progress)
    if not entries then return nil, new_error(err) end
    local norm = {}
    for k, v in pairs(entries) do
      local n = lexical(k)
      if n then norm[n] = v end
    end
    function src.file(name) return resolve(norm, name) end
    function src.close()
      for _, e in pairs(entries) do
        if e.file then os.remove(e.file) end
      end
      os.remove(staging)
    end
  end
  function src.read(name)
    local file, err = src.file(name)
    if not file then return nil, err end
    return read_file(file)
  end
  return src
end

local function check_digest(d)
  return type(d) == "string" and d:match("^sha256:" .. string.rep("%x", 64) .. "$")
    and d:lower() == d
end

-- a blob by descriptor, its digest checked; returns text, decoded
local function read_blob(src, desc, what)
  if not check_digest(desc.digest) then
    return fail(nil, "%s: unsupported or malformed digest %s", what, tostring(desc.digest))
  end
  local text, err = src.read("blobs/sha256/" .. desc.digest:sub(8))
  if not text then return nil, err end
  local got = core.sha256(text)
  if math.type(desc.size) == "integer" and desc.size ~= #text then
    return fail("digest", "blob %s (%s): %d bytes, the descriptor says %d", desc.digest, what, #text,
      desc.size)
  end
  if got ~= desc.digest then
    return fail("digest", "blob %s (%s): digest mismatch: the content has %s", desc.digest, what,
      got)
  end
  local v = json.decode(text)
  if type(v) ~= "table" then
    return fail(nil, "blob %s (%s): not a JSON object", desc.digest, what)
  end
  return text, v
end

local function platform_text(p)
  if type(p) ~= "table" then return "unknown" end
  return tostring(p.os) .. "/" .. tostring(p.architecture)
    .. (p.variant and ("/" .. p.variant) or "")
end

local function platform_matches(p, want)
  return p.os == want.os and p.architecture == want.architecture
    and (not want.variant or not p.variant or p.variant == want.variant)
end

local function ref_name(desc)
  local a = type(desc.annotations) == "table" and desc.annotations or {}
  for _, k in ipairs(REF_ANNOTATIONS) do
    if type(a[k]) == "string" then return a[k] end
  end
end

-- the one manifest descriptor of an index for `want` (recursing into
-- nested indexes)
local function pick(src, index, want, ref, depth)
  if depth > 4 then return nil, new_error("image indexes nested too deeply") end
  local list, seen = {}, {}
  for _, d in ipairs(type(index.manifests) == "table" and index.manifests or {}) do
    local name = ref_name(d)
    if ref == nil or name == ref or (name and name:match("[^/]+$") == ref) then
      if d.platform == nil or platform_matches(d.platform, want) then list[#list + 1] = d end
      seen[#seen + 1] = d.platform and platform_text(d.platform) or name or d.digest
    end
  end
  if #list == 0 then
    if #seen == 0 and ref then return fail(nil, "no image named %q in the index", ref) end
    return nil, new_error(("no manifest for %s in the image index (it has: %s)")
      :format(platform_text(want), table.concat(seen, ", ")), "platform")
  end
  if #list > 1 then
    return nil, new_error(("the index holds %d images for %s; choose one with `ref` (%s)")
      :format(#list, platform_text(want), table.concat(seen, ", ")))
  end
  local d = list[1]
  if INDEX_TYPES[d.mediaType] then
    local ntext, nested = read_blob(src, d, "image index")
    if not ntext then return nil, nested end
    local inner, err = pick(src, nested, want, nil, depth + 1)
    if inner then inner.ref = inner.ref or ref_name(d) end
    return inner, err
  end
  d.ref = ref_name(d)
  return d
end

local function check_config_platform(config, want)
  if config.os ~= want.os or config.architecture ~= want.architecture then
    return fail("platform", "the image is for %s, not %s", platform_text(config),
      platform_text(want))
  end
  return true
end

local function oci_image(src, want, ref)
  local text, index = src.read("index.json")
  if not text then return nil, index end
  index = json.decode(text)
  if type(index) ~= "table" then return nil, new_error("index.json is not a JSON object") end
  local desc, err = pick(src, index, want, ref, 0)
  if not desc then return nil, err end
  local mtext, manifest = read_blob(src, desc, "manifest")
  if not mtext then return nil, manifest end
  if type(manifest.config) ~= "table" or type(manifest.layers) ~= "table" then
    return fail(nil, "blob %s is not an image manifest", desc.digest)
  end
  local ctext, config = read_blob(src, manifest.config, "config")
  if not ctext then return nil, config end
  local img = { names = { desc.ref }, manifest_digest = desc.digest,
                config_digest = manifest.config.digest, config = config, layers = {} }
  for i, l in ipairs(manifest.layers) do
    if not check_digest(l.digest) then
      return fail(nil, "layer %d: unsupported or malformed digest %s", i, tostring(l.digest))
    end
    local mt = tostring(l.mediaType)
    if not mt:find("tar", 1, true) or mt:find("encrypted", 1, true) then
      return fail(nil, "blob %s: layer media type %s is not supported", l.digest, mt)
    end
    local file, ferr = src.file("blobs/sha256/" .. l.digest:sub(8))
    if not file then return nil, ferr end
    img.layers[i] = { file = file, digest = l.digest, size = l.size, media_type = mt }
  end
  return img
end

local function docker_image(src, ref)
  local text, err = src.read("manifest.json")
  if not text then return nil, err end
  local list = json.decode(text)
  if type(list) ~= "table" or #list == 0 then return fail(nil, "manifest.json lists no image") end
  local chosen, tags = {}, {}
  for _, m in ipairs(list) do
    local names = type(m.RepoTags) == "table" and m.RepoTags or {}
    local hit = ref == nil
    for _, t in ipairs(names) do
      tags[#tags + 1] = t
      if t == ref or t:match("[^/]+$") == ref then hit = true end
    end
    if hit then chosen[#chosen + 1] = m end
  end
  if #chosen ~= 1 then
    if #chosen == 0 then return fail(nil, "no image named %q in manifest.json", ref) end
    return fail(nil, "manifest.json holds %d images; choose one with `ref` (%s)", #chosen,
      table.concat(tags, ", "))
  end
  local m = chosen[1]
  local ctext, cerr = src.read(tostring(m.Config))
  if not ctext then return nil, cerr end
  local digest = core.sha256(ctext)
  local named = tostring(m.Config):match(string.rep("%x", 64))
  if named and "sha256:" .. named ~= digest then
    return fail("digest", "blob %s (config): digest mismatch: the content has %s", m.Config, digest)
  end
  local config = json.decode(ctext)
  if type(config) ~= "table" then return fail(nil, "%s: not a JSON object", m.Config) end
  local img = { names = type(m.RepoTags) == "table" and m.RepoTags or {}, config_digest = digest,
                config = config, layers = {} }
  for i, name in ipairs(type(m.Layers) == "table" and m.Layers or {}) do
    local file, ferr = src.file(tostring(name))
    if not file then return nil, ferr end
    img.layers[i] = { file = file, name = name }
  end
  return img
end

--- The image of an opened source, for platform `want` (`{os=,
-- architecture=[, variant=]}`), optionally chosen by reference `ref`.
-- @return `{names, manifest_digest, config_digest, config, layers =
-- {{file, digest, size, media_type | name}}}` | nil, error table
-- (`message`, and `class` "digest" or "platform" where it applies)
function M.image(src, want, ref)
  local img, err
  if src.format == "docker-archive" then img, err = docker_image(src, ref)
  else img, err = oci_image(src, want, ref) end
  if not img then return nil, err end
  local ok, perr = check_config_platform(img.config, want)
  if not ok then return nil, perr end
  return img
end

return M
