package host

import (
	"fmt"
	"strings"
)

// vethScript creates what chapter 05 creates, in a network namespace that
// exists only as long as the unshare process: when it exits the kernel
// destroys the namespace and the links in it, so nothing is left behind even
// if the script fails halfway.
const vethScript = "ip link add berthdoc0 type veth peer name berthdoc1 && ip link add berthdocbr type bridge"

func (h Host) checkVethBridge() Result {
	r := Result{Name: "veth+bridge", Needed: "chapter 05"}
	if _, err := h.LookPath("ip"); err != nil {
		r.Status = Warn
		r.Detail = "ip not found"
		r.Fix = "sudo apt-get install iproute2"
		return r
	}
	unshare, err := h.LookPath("unshare")
	if err != nil {
		r.Status = Warn
		r.Detail = "unshare not found"
		r.Fix = "sudo apt-get install util-linux"
		return r
	}
	if h.Euid != 0 {
		r.Status = Warn
		r.Detail = "not checked: needs root"
		r.Fix = rootFix
		return r
	}
	out, err := h.Run(unshare, "--net", "sh", "-c", vethScript)
	if err != nil {
		r.Status = Warn
		r.Detail = fmt.Sprintf("creating a veth pair and a bridge in a throwaway network namespace: %v", err)
		if o := strings.TrimSpace(string(out)); o != "" {
			r.Detail += ": " + o
		}
		r.Fix = "load the modules: sudo modprobe veth && sudo modprobe bridge"
		if strings.Contains(string(out), "Operation not permitted") {
			// Root without CAP_SYS_ADMIN or CAP_NET_ADMIN: a container.
			r.Fix = "give the container the capabilities: docker run --privileged (or --cap-add SYS_ADMIN --cap-add NET_ADMIN)"
		}
		return r
	}
	r.Status = OK
	r.Detail = "created a veth pair and a bridge in a throwaway network namespace"
	return r
}

// checkFirewall looks for the tools chapter 05 uses for NAT. Debian 12's
// iptables is iptables-nft, which writes nf_tables rules; the legacy one
// writes to the old x_tables. The chapter works with either, but mixing both
// on one host gives rules that hide from each other, so the flavour is shown.
func (h Host) checkFirewall() Result {
	r := Result{Name: "iptables/nft", Needed: "chapter 05"}
	var found []string
	path, err := h.LookPath("iptables")
	if err == nil {
		found = append(found, "iptables "+h.iptablesFlavour(path))
	}
	if _, err := h.LookPath("nft"); err == nil {
		found = append(found, "nft")
	}
	// Chapter 05 drives the iptables commands (nf_tables-backed or
	// legacy): nft alone is not enough.
	if path == "" {
		r.Status = Warn
		r.Detail = "iptables not found"
		if len(found) > 0 {
			r.Detail += " (only " + strings.Join(found, ", ") + "; chapter 05 uses the iptables commands)"
		}
		r.Fix = "sudo apt-get install iptables"
		return r
	}
	r.Status = OK
	r.Detail = strings.Join(found, ", ")
	return r
}

// iptablesFlavour reads "iptables v1.8.9 (nf_tables)" or "(legacy)".
func (h Host) iptablesFlavour(path string) string {
	out, err := h.Run(path, "-V")
	if err != nil {
		return fmt.Sprintf("(version unknown: %v)", err)
	}
	v := string(out)
	switch {
	case strings.Contains(v, "nf_tables"):
		return "(nf_tables)"
	case strings.Contains(v, "legacy"):
		return "(legacy)"
	}
	return "(" + strings.TrimSpace(v) + ")"
}
