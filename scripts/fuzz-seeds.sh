#!/bin/sh
# Seed corpora of the fuzz harnesses (spec/fuzz/fuzz_*.c), made afresh
# from spec/fixtures (the Go-written goldens and the real documents) and,
# for the tar import, from the specs' tar writer.
# Usage: fuzz-seeds.sh NAME DIR
set -eu
name=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
G=spec/fixtures/golden
R=spec/fixtures/real-json

# seed FILE PREFIX...: FILE with PREFIX (a first line) before it
seed() {
  f=$1
  shift
  { printf '%s' "$*"; cat "$f"; } >"$dir/$(basename "$f")$(printf '%s' "$*" | cksum | cut -c1-6)"
}

case $name in
json)
  cp "$G"/*.json "$R"/*.json "$dir/"
  ;;
guid)
  grep -rohE '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}' spec/fixtures |
    sort -u | while read -r g; do
    printf '%s' "$g" >"$dir/g$g"
    printf '{%s}' "$g" >"$dir/b$g"
  done
  ;;
addr)
  for a in 172.20.0.0/16 10.0.0.1 255.255.255.255 0.0.0.0/0 00-15-5D-00-00-01 00:15:5d:ff:ff:fe 1.2.3.4/32; do
    printf '%s' "$a" >"$dir/$(printf '%s' "$a" | tr '/:' '__')"
  done
  ;;
container_config)
  cp "$G"/container_*.json "$R"/*.json "$dir/"
  printf '%s' '{"SystemType":"Container","Name":"c","Owner":"o","HostName":"web","VolumePath":"/tmp","LayerFolderPath":"/tmp","Layers":[{"ID":"bd9c3ef9-f239-59b5-a27e-15c523b1d149","Path":"/tmp"}],"MappedDirectories":[{"HostPath":"/tmp","ContainerPath":"/data","ReadOnly":true},{"HostPath":"/","ContainerPath":"/host/x"}],"ProcessorCount":1,"ProcessorWeight":500,"ProcessorMaximum":5000,"MemoryMaximumInMB":256,"EndpointList":["ba3eb19a-0980-4546-8019-45d9addb2032"],"TerminateOnLastHandleClosed":true}' >"$dir/linux_full"
  printf '%s' '{"Name":"c","VolumePath":"/","StorageIOPSMaximum":100,"StorageBandwidthMaximum":1048576}' >"$dir/linux_io"
  ;;
process_config)
  cp "$G"/process_*.json "$dir/"
  pw='root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh'
  gr='root:x:0:
staff:x:50:app,root
app:x:1000:'
  # shellcheck disable=SC2016 # $A is the container shell's, not ours
  for j in '{"CommandLine":"sh -c \"echo \\\"$A\\\" > /x\" '"'"'a b'"'"' c\\ d","User":"app","WorkingDirectory":"/","Environment":{"A":"1","PATH":"/bin"},"EmulateConsole":true,"ConsoleSize":[40,120],"CreateStdInPipe":true}' \
    '{"CommandArgs":["/bin/sh","-c","true"],"User":"1000:staff"}' \
    '{"ApplicationName":"sh","CommandLine":"x y","User":"0:0","WorkingDirectory":"/home"}'; do
    n=$(printf '%s' "$j" | cksum | cut -c1-8)
    printf '%s\0%s\0%s' "$j" "$pw" "$gr" >"$dir/linux_$n"
  done
  ;;
hns)
  for f in "$G"/hns_network_*.json; do seed "$f" "POST /networks/
"; done
  for f in "$G"/hns_endpoint_*.json "$G"/endpoint_attach_*.json; do seed "$f" "POST /endpoints/
"; done
  for f in "$G"/policy_*.json; do
    { printf 'POST /endpoints/\n{"VirtualNetwork":"ba3eb19a-0980-4546-8019-45d9addb2032","Policies":['; cat "$f"; printf ']}'; } \
      >"$dir/ep_$(basename "$f")"
  done
  printf 'POST /networks/\n{"Name":"n2","Type":"nat","Subnets":[{"AddressPrefix":"10.9.0.0/24","GatewayAddress":"10.9.0.1"}],"MacPools":[{"StartMacAddress":"00-15-5D-10-00-00","EndMacAddress":"00-15-5D-10-00-0F"}],"DNSServerList":"1.1.1.1, 8.8.8.8","DNSSuffix":"example"}' >"$dir/net_nat"
  printf 'POST /networks/\n{"Name":"t","Type":"transparent","NetworkAdapterName":"lo","Policies":[{"Type":"VLAN","VLAN":7}],"Subnets":[{"AddressPrefix":"192.168.7.0/24"}]}' >"$dir/net_transparent"
  printf 'POST /endpoints/\n{"VirtualNetwork":"ba3eb19a-0980-4546-8019-45d9addb2032","Name":"e","IPAddress":"172.20.0.9","MacAddress":"00-15-5D-00-00-09","PrefixLength":16,"DNSServerList":"172.20.0.1","Policies":[{"Type":"NAT","Protocol":"TCP","InternalPort":80,"ExternalPort":8080},{"Type":"QOS","MaximumOutgoingBandwidthInBytes":1000000}]}' >"$dir/ep_full"
  printf 'POST /endpoints/\n{"VirtualNetworkName":"base-nat"}\n%%\nGET /endpoints/\n\n%%\nDELETE /networks/ba3eb19a-0980-4546-8019-45d9addb2032\n{"Force":true}' >"$dir/seq_force"
  printf 'GET /networks/BA3EB19A-0980-4546-8019-45D9ADDB2032' >"$dir/get_net"
  ;;
tar_import)
  LUA_PATH="./spec/?.lua;;" ${LUA:-lua5.4} spec/fuzz/tar_seeds.lua "$dir"
  gzip -c "$dir/plain.tar" >"$dir/plain.tar.gz"
  ;;
*)
  echo "fuzz-seeds.sh: no seeds for $name" >&2
  exit 1
  ;;
esac
