// Package engine is berth's container engine as a library: the container
// lifecycle of the Docker Engine API (create, start, attach, wait, logs,
// exec, stop, kill, restart, remove, inspect, list, top, stats), volumes and
// networks, on top of the course's chapters. The berth CLI calls it
// directly; a daemon serving Docker's REST API can call it the same way, as
// its types have the API's shape.
//
// Where each part comes from:
//
//   - images and their layers: chapter 06 (berth/06-images), unpacked and
//     stacked by chapter 04's snapshotter (berth/04-unionfs);
//   - limits: chapter 03's cgroup managers, v1 or v2 (berth/03-cgroups);
//   - networking: chapter 05's bridges, veth pairs, IPAM and port rules
//     (berth/05-network);
//   - the container itself: namespaces, pivot_root, mounts, capabilities
//     and the user, in berth/final/runtime, the course's small OCI runtime
//     built from chapters 01 and 02.
//
// A container lives in a directory a student can read: config.json (what
// was asked for), state.json (what is happening), its json-file log, and
// the OCI bundle handed to the runtime. Every started container is
// watched by a monitor, a re-executed copy of berth (the shim, as
// containerd calls its own), one process shared by all the containers of
// a root: for each it holds the standard streams, writes the log, answers
// attach and wait requests on the container's UNIX socket, and records the
// exit status. So a detached container outlives the berth command that
// started it, and any later berth process can find it.
//
// Everything here needs root.
package engine
