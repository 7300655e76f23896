-- Images as real clients make them: podman (import, build, save as
-- oci-archive and docker-archive) and skopeo (copy into OCI layouts with
-- zstd and gzip layers), built offline from the busybox root filesystem
-- by scripts/make-test-images.sh.
local hcsshim = require "hcsshim"
local image = require "hcsshim.image"
local core = require "hcsshim.core"
local json = hcsshim.json
local env = require "support.env"
local tar = require "support.tar"

local BASE, CHILD = "localhost/hcsshim-test/base:1", "localhost/hcsshim-test/child:1"

local slurp = env.slurp

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- layer folders of a home (records and staging start with ".")
local function layer_dirs(home)
  local out = {}
  for _, n in ipairs(core.list_dir(home) or {}) do
    if n:sub(1, 1) ~= "." then out[#out + 1] = n end
  end
  return out
end

local function inode(path) return env.must("stat -c %i " .. path):gsub("%s+$", "") end

-- flips one byte of a file at `offset` (default: the middle)
local function flip(path, offset)
  local s = slurp(path)
  offset = offset or #s // 2
  spit(path, s:sub(1, offset) .. string.char(s:byte(offset + 1) ~ 0xff) .. s:sub(offset + 2))
end

describe("images", function()
  local images, home

  setup(function()
    images = env.must("sh scripts/make-test-images.sh " .. env.busybox_tar()):match("([^\n]+)%s*$")
  end)
  before_each(function() home = env.tmpdir() .. "/layers" end)
  after_each(function()
    for _, r in ipairs(image.list({ home = home })) do
      image.remove(r, { home = home, force = true })
    end
    assert.same({}, layer_dirs(home))
    env.must("rm -rf --one-file-system " .. home:gsub("/layers$", ""))
  end)

  local function run(img, opts)
    opts = opts or {}
    opts.image, opts.home, opts.timeout = img, home, 60
    local r, err = hcsshim.run(opts)
    assert(r, tostring(err))
    return r
  end

  it("imports podman's oci-archive and runs the image's own command", function()
    local img = assert(image.import(images .. "/base.oci.tar", { home = home }))
    assert.equal(BASE, img.name)
    assert.equal("oci-archive", img.format)
    assert.matches("^sha256:%x+$", img.manifest_digest)
    assert.equal(1, #img.chain_ids)
    assert.equal(img.diff_ids[1], img.chain_ids[1])
    local r = run(img) -- Cmd: cat /etc/os-release
    assert.equal(0, r.exit_code)
    assert.equal("busybox-test\n", r.stdout)
    -- WorkingDir and Env of the config reach the process
    r = run(BASE, { args = { "sh", "-c", "echo $GREETING; pwd" } })
    assert.equal("hello\n/etc\n", r.stdout)
  end)

  it("imports podman's docker-archive", function()
    local img = assert(image.import(images .. "/base.docker.tar", { home = home }))
    assert.equal("docker-archive", img.format)
    assert.equal(BASE, img.name)
    assert.equal("busybox-test\n", run(img, { args = { "cat", "/etc/os-release" } }).stdout)
    assert.same(img, image.inspect("hcsshim-test/base:1", { home = home }))
    assert.same(img, image.inspect(img.id:sub(8, 20), { home = home }))
  end)

  it("imports skopeo's OCI layout with zstd layers, and with gzip layers", function()
    local manifest = json.decode(slurp(images .. "/zstd/blobs/sha256/"
      .. json.decode(slurp(images .. "/zstd/index.json")).manifests[1].digest:sub(8)))
    assert.equal("application/vnd.oci.image.layer.v1.tar+zstd", manifest.layers[1].mediaType)
    local img = assert(image.import(images .. "/zstd", { home = home, name = "zstd:1" }))
    assert.equal("oci-layout", img.format)
    assert.equal("busybox-test\n", run(img).stdout)
    local child = assert(image.import(images .. "/gzip", { home = home, name = "gzip:1" }))
    assert.equal(2, #child.chain_ids)
    local r = run(child, { args = { "cat", "/child.txt" } })
    assert.equal("added by the child image\n", r.stdout)
  end)

  it("imports a shared base once, and removes only layers nothing else uses", function()
    local base = assert(image.import(images .. "/base.docker.tar", { home = home }))
    local base_dir = home .. "/" .. base.chain_ids[1]:sub(8)
    local before = inode(base_dir)
    local child = assert(image.import(images .. "/child.oci.tar", { home = home }))
    assert.equal(base.chain_ids[1], child.chain_ids[1])
    assert.equal(before, inode(base_dir)) -- not imported again
    assert.equal(2, #layer_dirs(home))
    assert.same({ home .. "/" .. child.chain_ids[2]:sub(8), base_dir }, image.layers(child))
    -- the base image goes, its layer stays for the child
    assert.same({}, assert(image.remove(BASE, { home = home })))
    assert.equal(before, inode(base_dir))
    -- a sandbox over the child keeps both layers after the child goes
    assert(hcsshim.create_sandbox_layer(home, "sb", child.chain_ids[2]:sub(8), image.layers(child)))
    assert.same({}, assert(image.remove(child, { home = home })))
    assert.equal(3, #layer_dirs(home))
    assert(hcsshim.destroy_layer(home, "sb"))
    -- importing the child again adopts the kept layers; removing it removes them
    child = assert(image.import(images .. "/child.docker.tar", { home = home }))
    assert.equal(CHILD, child.name)
    assert.equal(before, inode(base_dir))
    assert.equal(2, #assert(image.remove(CHILD, { home = home })))
    assert.same({}, layer_dirs(home))
  end)

  it("refuses a flipped byte in a blob, naming the blob, and leaves nothing behind", function()
    -- in an OCI layout: the zstd layer blob
    local dir = env.tmpdir()
    env.must(("cp -r %s/zstd %s/zstd"):format(images, dir))
    local index = json.decode(slurp(dir .. "/zstd/index.json"))
    local blobs = dir .. "/zstd/blobs/sha256/"
    local manifest = json.decode(slurp(blobs .. index.manifests[1].digest:sub(8)))
    local blob = manifest.layers[1].digest
    flip(dir .. "/zstd/blobs/sha256/" .. blob:sub(8))
    local img, err = image.import(dir .. "/zstd", { home = home })
    assert.is_nil(img)
    assert.equal(0x80070017, err.hresult)
    assert.matches("blob " .. blob .. " (layer 1): digest mismatch", tostring(err), 1, true)
    -- inside an oci-archive (the layer blob fills most of the file)
    env.must(("cp %s/base.oci.tar %s/flipped.tar"):format(images, dir))
    flip(dir .. "/flipped.tar")
    img, err = image.import(dir .. "/flipped.tar", { home = home })
    assert.is_nil(img)
    assert.matches("digest mismatch", tostring(err), 1, true)
    -- in a docker-archive's layer tar: its content no longer has the config's diff_id
    env.must(("mkdir %s/d && tar -C %s/d -xf %s/child.docker.tar"):format(dir, dir, images))
    local m = json.decode(slurp(dir .. "/d/manifest.json"))[1]
    flip(dir .. "/d/" .. m.Layers[2], 600)
    img, err = image.import(dir .. "/d", { home = home })
    assert.is_nil(img)
    assert.matches("blob " .. m.Layers[2] .. " (layer 2, none): the uncompressed content has "
      .. "sha256:", tostring(err), 1, true)
    assert.matches("the config's diff_id is sha256:", tostring(err), 1, true)
    -- nothing: no layer (not even the good base layer), no record, no unpacked files
    assert.same({}, layer_dirs(home))
    assert.same({}, core.list_dir(home .. "/.images"))
  end)

  it("picks the host's platform from a multi-platform index, or refuses clearly", function()
    local dir = env.tmpdir() .. "/multi"
    env.must(("cp -r %s/zstd %s"):format(images, dir))
    local desc = json.decode(slurp(dir .. "/index.json")).manifests[1]
    local function with_index(platforms)
      local list = {}
      for i, p in ipairs(platforms) do
        list[i] = { mediaType = desc.mediaType, digest = desc.digest, size = desc.size,
                    platform = { os = "linux", architecture = p } }
      end
      local index_type = "application/vnd.oci.image.index.v1+json"
      local text = assert(json.encode({ schemaVersion = 2, mediaType = index_type,
                                        manifests = list }))
      local digest = core.sha256(text)
      spit(dir .. "/blobs/sha256/" .. digest:sub(8), text)
      spit(dir .. "/index.json", assert(json.encode({ schemaVersion = 2, manifests = { {
        mediaType = index_type, digest = digest, size = #text } } })))
    end
    with_index({ "arm64", "amd64", "ppc64le" })
    local img = assert(image.import(dir, { home = home, name = "multi:1" }))
    assert.equal(desc.digest, img.manifest_digest)
    assert.equal("linux/amd64", img.platform)
    assert(image.remove(img, { home = home }))
    -- asked for arm64: the entry exists, but its config says amd64
    local none, err = image.import(dir, { home = home, name = "multi:1", platform = "linux/arm64" })
    assert.is_nil(none)
    assert.is_true(hcsshim.is_not_supported(err))
    assert.matches("the image is for linux/amd64, not linux/arm64", tostring(err), 1, true)
    with_index({ "arm64", "ppc64le" })
    none, err = image.import(dir, { home = home, name = "multi:1" })
    assert.is_nil(none)
    assert.is_true(hcsshim.is_not_supported(err))
    assert.matches("no manifest for linux/amd64 in the image index "
      .. "(it has: linux/arm64, linux/ppc64le)", tostring(err), 1, true)
    assert.same({}, layer_dirs(home))
  end)

  it("import_layer refuses image archives and points to the image import", function()
    for _, p in ipairs({ "base.docker.tar", "base.oci.tar", "zstd" }) do
      local ok, err = hcsshim.import_layer(home, "l", images .. "/" .. p)
      assert.is_nil(ok)
      assert.equal(0x80070057, err.hresult)
      assert.matches("image, not a layer tar: import it with hcsshim.image.import", tostring(err),
        1, true)
    end
    assert.is_false(hcsshim.layer_exists(home, "l"))
    -- a layer tar (even one holding a manifest.json) is still a layer
    local t = tar.write(env.tmpdir() .. "/l.tar",
      { { name = "manifest.json", type = "file", data = "[]" } })
    assert(hcsshim.import_layer(home, "l", t))
    assert(hcsshim.destroy_layer(home, "l"))
  end)

  it("resolves an archive's names inside the archive only", function()
    local dir = env.tmpdir()
    local config = string.rep("b", 64) .. ".json"
    -- names that leave the archive are not image names: not an image
    local t = tar.write(dir .. "/evil.tar", {
      { name = "manifest.json", type = "file", data = "[]" },
      { name = config, type = "file", data = "{}" },
      { name = "../evil-escape", type = "file", data = "x" },
      { name = "/tmp/evil-absolute", type = "file", data = "x" },
    })
    local img, err = image.import(t, { home = home })
    assert.is_nil(img)
    assert.is_true(hcsshim.is_not_supported(err))
    assert.is_nil(io.open(dir .. "/../evil-escape"))
    assert.is_nil(io.open("/tmp/evil-absolute"))
    -- a manifest that points outside the archive
    t = tar.write(dir .. "/evil2.tar", {
      { name = "manifest.json", type = "file",
        data = '[{"Config":"../../etc/passwd","RepoTags":["evil:1"],"Layers":["' .. config
          .. '"]}]' },
      { name = config, type = "file", data = "{}" },
    })
    img, err = image.import(t, { home = home })
    assert.is_nil(img)
    assert.matches('"../../etc/passwd" is missing from the image', tostring(err), 1, true)
    assert.same({}, core.list_dir(home .. "/.images"))
  end)

  it("reports progress of every step", function()
    local steps = {}
    local function progress(bytes, entries, step)
      assert.is_true(math.type(bytes) == "integer" and math.type(entries) == "integer")
      local s = steps[step] or { calls = 0, bytes = 0 }
      assert.is_true(bytes >= s.bytes)
      s.calls, s.bytes, s.entries = s.calls + 1, bytes, entries
      steps[step] = s
    end
    assert(image.import(images .. "/child.oci.tar", { home = home, progress = progress }))
    local size = tonumber((env.must("stat -c %s " .. images .. "/child.oci.tar")))
    assert.is_true(steps.read.bytes > 0 and steps.read.bytes <= size)
    assert.is_true(steps.verify.calls >= 2)
    assert.equal(2, steps.import.entries)
    assert(image.remove(CHILD, { home = home }))
    -- a callback that raises stops the import, and what it made goes
    local ok, err = pcall(image.import, images .. "/child.oci.tar", { home = home,
      progress = function(_, entries, step)
        if step == "import" and entries == 2 then error("enough") end
      end })
    assert.is_false(ok)
    assert.matches("enough", err)
    assert.same({}, layer_dirs(home))
    assert.same({}, core.list_dir(home .. "/.images"))
  end)
end)
