// Package unionfs gives a container its files: an image is a stack of
// read-only layers, and a container is one more, writable, layer on top.
//
// A Snapshotter, in containerd's manner, unpacks layer tarballs into layer
// directories (Unpack), describes the mounts that assemble a container's
// root filesystem from them as plain data (Mounts), and turns what the
// container changed back into a layer tarball (Diff). Two implementations:
// Overlay stacks the layers with overlayfs and writes only changes; Copy
// materialises every layer and container as a full copy, for filesystems
// where overlayfs cannot be used. MountAll and Unmount apply and remove
// the mounts.
//
// Layer tarballs follow the OCI image layer format: a deleted file is a
// ".wh.NAME" entry, a directory whose lower contents are hidden holds
// ".wh..wh..opq". Unpacking never writes outside its target, whatever the
// archive says, and leaves nothing behind if the archive is broken.
//
// Mounting and unpacking ownership and device nodes need root. This is
// chapter 04 of the berth course: see docs/04-unionfs.md.
package unionfs
