// Command golden writes the reference bytes of the HCS and HNS documents:
// what Go's encoding/json makes of hcsshim's own structs.  For each case
// of spec/fixtures/golden/cases.json it decodes the case's value into the
// struct of the case's schema and writes json.Marshal's output to
// spec/fixtures/golden/<case>.json.  The specs compare hcsshim.schema's
// output with those files byte for byte.
//
// The structs follow hcsshim's source: for the types hcsshim v0.5.2 has,
// its fields and tags; fields later versions added are declared with
// omitempty where the first version that has them put them (they appear
// only when set); types v0.5.2 lacks are declared as the first version
// that has them.  Standard library only: `make goldens` runs it; the test
// suite needs only the files it wrote.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ---- v0.5.2 interface.go, later fields marked with the version adding them

type Layer struct {
	ID   string
	Path string
}

type MappedDir struct {
	HostPath          string
	ContainerPath     string
	ReadOnly          bool
	BandwidthMaximum  uint64
	IOPSMaximum       uint64
	CreateInUtilityVM bool `json:",omitempty"` // v0.6.4
	LinuxMetadata     bool `json:",omitempty"` // v0.6.12
}

type HvRuntime struct {
	ImagePath           string `json:",omitempty"`
	SkipTemplate        bool   `json:",omitempty"`
	LinuxInitrdFile     string `json:",omitempty"` // v0.5.24
	LinuxKernelFile     string `json:",omitempty"` // v0.5.24
	LinuxBootParameters string `json:",omitempty"` // v0.5.28
	BootSource          string `json:",omitempty"` // v0.6.2
	WritableBootSource  bool   `json:",omitempty"` // v0.6.2
}

// v0.5.21; AttachOnly v0.5.28
type MappedVirtualDisk struct {
	HostPath          string `json:",omitempty"`
	ContainerPath     string
	CreateInUtilityVM bool   `json:",omitempty"`
	ReadOnly          bool   `json:",omitempty"`
	Cache             string `json:",omitempty"`
	AttachOnly        bool   `json:",omitempty"`
}

// v0.5.26
type MappedPipe struct {
	HostPath          string
	ContainerPipeName string
}

// v0.6.12
type AssignedDevice struct {
	InterfaceClassGUID string `json:"InterfaceClassGuid,omitempty"`
}

// v0.6.13
type RegistryKey struct {
	Hive     string
	Name     string
	Volatile bool `json:",omitempty"`
}

type RegistryValue struct {
	Key         RegistryKey
	Name        string
	Type        string
	StringValue string  `json:",omitempty"`
	BinaryValue []byte  `json:",omitempty"`
	DWordValue  *uint32 `json:",omitempty"`
	QWordValue  *uint64 `json:",omitempty"`
	CustomType  *uint32 `json:",omitempty"`
}

type RegistryChanges struct {
	AddValues  []RegistryValue `json:",omitempty"`
	DeleteKeys []RegistryValue `json:",omitempty"`
}

type ContainerConfig struct {
	SystemType                  string
	Name                        string
	Owner                       string
	IsDummy                     bool
	VolumePath                  string `json:",omitempty"`
	IgnoreFlushesDuringBoot     bool
	LayerFolderPath             string `json:",omitempty"`
	Layers                      []Layer
	Credentials                 string `json:",omitempty"`
	ProcessorCount              uint32 `json:",omitempty"`
	ProcessorWeight             uint64 `json:",omitempty"`
	ProcessorMaximum            int64  `json:",omitempty"`
	StorageIOPSMaximum          uint64 `json:",omitempty"`
	StorageBandwidthMaximum     uint64 `json:",omitempty"`
	StorageSandboxSize          uint64 `json:",omitempty"`
	MemoryMaximumInMB           int64  `json:",omitempty"`
	HostName                    string
	MappedDirectories           []MappedDir
	MappedPipes                 []MappedPipe `json:",omitempty"` // v0.5.26
	SandboxPath                 string       `json:",omitempty"`
	HvPartition                 bool
	EndpointList                []string
	NetworkSharedContainerName  string     `json:",omitempty"` // v0.5.11
	HvRuntime                   *HvRuntime `json:",omitempty"`
	Servicing                   bool
	AllowUnqualifiedDNSQuery    bool
	DNSSearchList               string              `json:",omitempty"` // v0.5.10
	ContainerType               string              `json:",omitempty"` // v0.5.19
	TerminateOnLastHandleClosed bool                `json:",omitempty"` // v0.5.19
	MappedVirtualDisks          []MappedVirtualDisk `json:",omitempty"` // v0.5.21
	AssignedDevices             []AssignedDevice    `json:",omitempty"` // v0.6.12
	RegistryChanges             *RegistryChanges    `json:",omitempty"` // v0.6.13
}

type ProcessConfig struct {
	ApplicationName   string
	CommandLine       string
	CommandArgs       []string `json:",omitempty"` // v0.5.25
	User              string   `json:",omitempty"` // v0.5.3
	WorkingDirectory  string
	Environment       map[string]string
	EmulateConsole    bool
	CreateStdInPipe   bool
	CreateStdOutPipe  bool
	CreateStdErrPipe  bool
	ConsoleSize       [2]uint
	CreateInUtilityVm bool             `json:",omitempty"` // v0.5.19
	OCISpecification  *json.RawMessage `json:",omitempty"` // v0.5.19
}

// v0.5.2 process.go
type consoleSize struct {
	Height uint16
	Width  uint16
}

type closeHandle struct {
	Handle string
}

type processModifyRequest struct {
	Operation   string
	ConsoleSize *consoleSize `json:",omitempty"`
	CloseHandle *closeHandle `json:",omitempty"`
}

// v0.5.3
type ComputeSystemQuery struct {
	IDs    []string `json:"Ids,omitempty"`
	Types  []string `json:",omitempty"`
	Names  []string `json:",omitempty"`
	Owners []string `json:",omitempty"`
}

// v0.5.15; Settings an interface{} (any JSON value) as from v0.5.28
type ResourceModificationRequestResponse struct {
	Resource string      `json:"ResourceType"`
	Data     interface{} `json:"Settings"`
	Request  string      `json:"RequestType,omitempty"`
}

// ---- v0.5.2 hnsfuncs.go

type NatPolicy struct {
	Type                 string
	Protocol             string
	InternalPort         uint16
	ExternalPort         uint16
	ExternalPortReserved bool `json:",omitempty"` // v0.9.3
}

type QosPolicy struct {
	Type                            string
	MaximumOutgoingBandwidthInBytes uint64
}

type VlanPolicy struct {
	Type string
	VLAN uint
}

type VsidPolicy struct {
	Type string
	VSID uint
}

type PaPolicy struct {
	Type string
	PA   string
}

type Subnet struct {
	AddressPrefix  string            `json:",omitempty"`
	GatewayAddress string            `json:",omitempty"`
	Policies       []json.RawMessage `json:",omitempty"`
}

type MacPool struct {
	StartMacAddress string `json:",omitempty"`
	EndMacAddress   string `json:",omitempty"`
}

type HNSNetwork struct {
	Id                   string            `json:",omitempty"`
	Name                 string            `json:",omitempty"`
	Type                 string            `json:",omitempty"`
	NetworkAdapterName   string            `json:",omitempty"`
	SourceMac            string            `json:",omitempty"`
	Policies             []json.RawMessage `json:",omitempty"`
	MacPools             []MacPool         `json:",omitempty"`
	Subnets              []Subnet          `json:",omitempty"`
	DNSSuffix            string            `json:",omitempty"`
	DNSServerList        string            `json:",omitempty"`
	DNSServerCompartment uint32            `json:",omitempty"`
	ManagementIP         string            `json:",omitempty"`
	AutomaticDNS         bool              `json:",omitempty"` // v0.5.27
}

type HNSEndpoint struct {
	Id                 string            `json:",omitempty"`
	Name               string            `json:",omitempty"`
	VirtualNetwork     string            `json:",omitempty"`
	VirtualNetworkName string            `json:",omitempty"`
	Policies           []json.RawMessage `json:",omitempty"`
	MacAddress         string            `json:",omitempty"`
	IPAddress          net.IP            `json:",omitempty"`
	DNSSuffix          string            `json:",omitempty"`
	DNSServerList      string            `json:",omitempty"`
	DNSDomain          string            `json:",omitempty"` // v0.9.0
	GatewayAddress     string            `json:",omitempty"`
	EnableInternalDNS  bool              `json:",omitempty"`
	PrefixLength       uint8             `json:",omitempty"`
	IsRemoteEndpoint   bool              `json:",omitempty"`
	SharedContainers   []string          `json:",omitempty"` // v0.8.7
}

// ---- v0.5.27 hnspolicy.go / hnspolicylist.go, later fields marked

type Policy struct {
	Type string `json:"Type"`
}

type ACLPolicy struct {
	Type            string `json:"Type"`
	Id              string `json:"Id,omitempty"` // v0.7.0
	Protocol        uint16
	Protocols       string `json:"Protocols,omitempty"` // v0.7.0
	InternalPort    uint16
	Action          string
	Direction       string
	LocalAddress    string
	RemoteAddress   string
	LocalAddresses  string `json:",omitempty"`           // v0.6.7
	RemoteAddresses string `json:",omitempty"`           // v0.6.7
	LocalPorts      string `json:"LocalPorts,omitempty"` // v0.7.0
	LocalPort       uint16
	RemotePorts     string `json:"RemotePorts,omitempty"` // v0.7.0
	RemotePort      uint16
	RuleType        string `json:"RuleType,omitempty"`
	Priority        uint16
	ServiceName     string
}

type OutboundNatPolicy struct {
	Policy
	VIP              string   `json:"VIP,omitempty"`
	Exceptions       []string `json:"ExceptionList,omitempty"`
	Destinations     []string `json:",omitempty"` // v0.8.7
	MaxPortPoolUsage uint16   `json:",omitempty"` // v0.8.26
}

type RoutePolicy struct {
	Policy
	DestinationPrefix string `json:"DestinationPrefix,omitempty"`
	NextHop           string `json:"NextHop,omitempty"`
	EncapEnabled      bool   `json:"NeedEncap,omitempty"`
}

type LBPolicy struct {
	Policy
	Protocol     uint16 `json:"Protocol,omitempty"`
	InternalPort uint16
	ExternalPort uint16
}

type ELBPolicy struct {
	LBPolicy
	SourceVIP string   `json:"SourceVIP,omitempty"`
	VIPs      []string `json:"VIPs,omitempty"`
	ILB       bool     `json:"ILB,omitempty"`
	DSR       bool     `json:"IsDSR,omitempty"` // v0.7.13
}

// v0.6.2 hnsendpoint.go
type EndpointAttachDetachRequest struct {
	ContainerID    string `json:"ContainerId,omitempty"`
	SystemType     string `json:"SystemType"`
	CompartmentID  uint16 `json:"CompartmentId,omitempty"`
	VirtualNICName string `json:"VirtualNicName,omitempty"`
}

var schemas = map[string]func() interface{}{
	"ContainerConfig":             func() interface{} { return &ContainerConfig{} },
	"MappedDir":                   func() interface{} { return &MappedDir{} },
	"ProcessConfig":               func() interface{} { return &ProcessConfig{} },
	"ProcessModifyRequest":        func() interface{} { return &processModifyRequest{} },
	"ComputeSystemQuery":          func() interface{} { return &ComputeSystemQuery{} },
	"ResourceModificationRequest": func() interface{} { return &ResourceModificationRequestResponse{} },
	"HNSNetwork":                  func() interface{} { return &HNSNetwork{} },
	"HNSEndpoint":                 func() interface{} { return &HNSEndpoint{} },
	"NatPolicy":                   func() interface{} { return &NatPolicy{} },
	"QosPolicy":                   func() interface{} { return &QosPolicy{} },
	"VlanPolicy":                  func() interface{} { return &VlanPolicy{} },
	"VsidPolicy":                  func() interface{} { return &VsidPolicy{} },
	"PaPolicy":                    func() interface{} { return &PaPolicy{} },
	"ACLPolicy":                   func() interface{} { return &ACLPolicy{} },
	"OutboundNatPolicy":           func() interface{} { return &OutboundNatPolicy{} },
	"RoutePolicy":                 func() interface{} { return &RoutePolicy{} },
	"ELBPolicy":                   func() interface{} { return &ELBPolicy{} },
	"EndpointAttachDetachRequest": func() interface{} { return &EndpointAttachDetachRequest{} },
	// not hcsshim's: how Go writes float64 values (json.encode's floats)
	"[]float64": func() interface{} { return &[]float64{} },
}

// A caller of hcsshim marshals each policy from its struct before putting
// it into Policies ([]json.RawMessage): the same here, by Type.
var policyTypes = map[string]string{
	"nat": "NatPolicy", "qos": "QosPolicy", "vlan": "VlanPolicy", "vsid": "VsidPolicy", "pa": "PaPolicy",
	"acl": "ACLPolicy", "outboundnat": "OutboundNatPolicy", "route": "RoutePolicy", "elb": "ELBPolicy",
}

func typedPolicies(raw []json.RawMessage) ([]json.RawMessage, error) {
	for i, r := range raw {
		var p Policy
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, err
		}
		name, ok := policyTypes[strings.ToLower(p.Type)]
		if !ok {
			continue
		}
		v := schemas[name]()
		if err := json.Unmarshal(r, v); err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw[i] = b
	}
	return raw, nil
}

func fixPolicies(v interface{}) error {
	var err error
	switch d := v.(type) {
	case *HNSNetwork:
		if d.Policies, err = typedPolicies(d.Policies); err != nil {
			return err
		}
		for i := range d.Subnets {
			if d.Subnets[i].Policies, err = typedPolicies(d.Subnets[i].Policies); err != nil {
				return err
			}
		}
	case *HNSEndpoint:
		d.Policies, err = typedPolicies(d.Policies)
	}
	return err
}

type testCase struct {
	Schema string
	Value  json.RawMessage
}

func run(dir string) error {
	text, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		return err
	}
	var cases map[string]testCase
	if err := json.Unmarshal(text, &cases); err != nil {
		return err
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cases[name]
		newValue, ok := schemas[c.Schema]
		if !ok {
			return fmt.Errorf("%s: unknown schema %q", name, c.Schema)
		}
		v := newValue()
		if err := json.Unmarshal(c.Value, v); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if err := fixPolicies(v); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(out, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("golden: %d documents written to %s\n", len(names), dir)
	return nil
}

func main() {
	dir := "spec/fixtures/golden"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir); err != nil {
		fmt.Fprintln(os.Stderr, "golden:", err)
		os.Exit(1)
	}
}
