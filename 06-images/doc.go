// Package image moves container images: it fetches them from registries,
// keeps them in a content-addressable store, verifies them, unpacks their
// layers, and writes them back out to registries and tarballs.
//
// An image is three kinds of JSON and tar, each named by the SHA-256 of its
// bytes: a manifest lists a config and an ordered set of layer blobs; the
// config holds what a container needs to start (Env, Entrypoint, Cmd, ...)
// and the diff IDs, the digests of the layers once uncompressed. Because
// every name is a digest, every byte can be checked, and two images that
// share a layer store it once.
//
// The Store is an OCI image layout on disk (oci-layout, index.json,
// blobs/sha256/...), so skopeo's oci: transport and umoci read it; its
// unpacked layers are chapter 04's layer directories, one per chain ID,
// shared by every image and container above them. A Client speaks the OCI
// distribution API (Docker Registry HTTP API v2) with bearer-token and basic
// authentication; Pull and Push walk an image between a registry and a
// Store. Save and Load read and write `docker save` tarballs; Import turns a
// root filesystem tarball into a one-layer image and Export writes a
// container's filesystem as one.
//
// Talking to registries needs no privilege; unpacking layers (ownership,
// device nodes, whiteouts) needs root. This is chapter 06 of the berth
// course: see docs/06-images.md.
package image
