// Package network wires containers to each other and to the world the way
// Docker's bridge networks do.
//
// A network is a Linux bridge with a subnet; the bridge holds the gateway
// address. Each container on it gets a veth pair: one end on the bridge,
// the other moved into the container's network namespace and named eth0,
// with an address from the network's allocator (IPAM) and a default route
// through the gateway. Outbound traffic is masqueraded to the host's
// address; published ports are DNAT rules from a host port to the
// container's. Every rule lives in chains named BERTH..., so iptables -S
// shows them and teardown removes exactly what was added.
//
// The pure part (this file's neighbours without _linux) describes: subnets
// and their overlap with the host's routes, -p port specifications, the
// rules a network and a port need, /etc/hosts and /etc/resolv.conf. The
// _linux files do it with netlink and iptables. A Manager can act in a
// network namespace other than its own (Options.HostNS): the tests and the
// demo build a whole "host" inside one, so the machine's real network is
// never touched.
//
// This is chapter 05 of the berth course: see docs/05-network.md.
package network
