-- The parts of hcsshim.image that need no root and no container: process
-- defaults, chain ids, format detection, and the one-pass blob digests
-- against the system's own gzip, zstd and sha256sum.
local image = require "hcsshim.image"
local fmt = require "hcsshim.image_format"
local core = require "hcsshim.core"
local tar = require "support.tar"

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  assert(p:close(), cmd)
  return (out:gsub("%s+$", ""))
end

describe("image helpers", function()
  local dir
  setup(function() dir = sh("mktemp -d") end)
  teardown(function() sh("rm -rf " .. dir) end)

  it("turns the image config and overrides into a ProcessConfig", function()
    local img = { config = { config = { Entrypoint = { "/bin/tini", "--" }, Cmd = { "serve" },
      Env = { "PATH=/bin", "A=1" }, WorkingDir = "/srv", User = "app" } } }
    assert.same({ CommandArgs = { "/bin/tini", "--", "serve" },
                  Environment = { PATH = "/bin", A = "1" }, WorkingDirectory = "/srv",
                  User = "app" }, image.process_config(img))
    assert.same({ "/bin/tini", "--", "x" },
      image.process_config(img, { args = { "x" } }).CommandArgs)
    assert.same({ "sh" }, image.process_config(img, { entrypoint = { "sh" } }).CommandArgs)
    local c = image.process_config(img, { CommandLine = "ls", User = "root",
      Environment = { A = "2" }, CreateStdOutPipe = true })
    assert.is_nil(c.CommandArgs)
    assert.same({ CommandLine = "ls", User = "root", Environment = { PATH = "/bin", A = "2" },
                  WorkingDirectory = "/srv", CreateStdOutPipe = true }, c)
    local none, err = image.process_config({ config = { config = {} } })
    assert.is_nil(none)
    assert.equal(0x80070057, err.hresult)
  end)

  it("chains diff ids as the OCI image spec says", function()
    local a, b, c = "sha256:" .. string.rep("a", 64), "sha256:" .. string.rep("b", 64),
      "sha256:" .. string.rep("c", 64)
    local ab = "sha256:" .. sh(("printf '%%s %%s' %s %s | sha256sum | cut -c1-64"):format(a, b))
    local abc = "sha256:" .. sh(("printf '%%s %%s' %s %s | sha256sum | cut -c1-64"):format(ab, c))
    assert.same({ a, ab, abc }, image.chain_ids({ a, b, c }))
  end)

  it("gives a blob's digest and its content's digest in one read", function()
    local t = tar.write(dir .. "/l.tar",
      { { name = "f", type = "file", data = ("x"):rep(100000) } })
    local plain = "sha256:" .. sh("sha256sum " .. t .. " | cut -c1-64")
    for _, z in ipairs({ { "gzip", "gz" }, { "zstd -q", "zst" } }) do
      sh(("%s -c %s > %s.%s"):format(z[1], t, t, z[2]))
      local blob, content, compression, n, m = core.blob_digests(t .. "." .. z[2])
      assert.equal("sha256:" .. sh(("sha256sum %s.%s | cut -c1-64"):format(t, z[2])), blob)
      assert.equal(plain, content)
      assert.equal(z[1]:match("^%a+"), compression)
      assert.is_true(n < m)
    end
    local blob, content, compression = core.blob_digests(t)
    assert.same({ plain, plain, "none" }, { blob, content, compression })
    -- a damaged gzip stream still gets its blob digest, and the reason
    sh(("head -c 200 %s.gz > %s.bad.gz"):format(t, t))
    local bad, none, _, _, _, why = core.blob_digests(t .. ".bad.gz")
    assert.equal("sha256:" .. sh(("sha256sum %s.bad.gz | cut -c1-64"):format(t)), bad)
    assert.is_nil(none)
    assert.is_string(why)
  end)

  it("tells image archives from layer tars", function()
    local hex = string.rep("c", 64)
    local docker = tar.write(dir .. "/d.tar", {
      { name = hex .. ".json", type = "file", data = "{}" },
      { name = "manifest.json", type = "file", data = "[]" },
    })
    local oci = tar.write(dir .. "/o.tar", {
      { name = "oci-layout", type = "file", data = "{}" },
      { name = "index.json", type = "file", data = "{}" },
      { name = "blobs/sha256/" .. hex, type = "file", data = "{}" },
    })
    local layer = tar.write(dir .. "/l.tar", {
      { name = "manifest.json", type = "file", data = "[]" },
      { name = "etc/", type = "dir" },
    })
    assert.equal("docker-archive", fmt.detect(docker))
    assert.equal("oci-archive", fmt.detect(oci))
    assert.is_nil(fmt.detect(layer))
    assert.is_nil(fmt.detect(dir .. "/missing.tar"))
    assert.equal("a/b", fmt.clean_name("./a//b/"))
  end)
end)
