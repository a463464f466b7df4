package engine

import (
	image "berth/06-images"
)

// The image types below follow the Docker Engine API's JSON, as types.go
// does for containers: GET /images/json, /images/{name}/json,
// /images/{name}/history, DELETE /images/{name}, POST /images/prune,
// GET /system/df and the prune reports. Fields berth cannot fill (a parent
// image, a build container) are left out.

// ImageSummary is one image in a list: GET /images/json. An image is its
// config (its ID); RepoTags are every name that points at it.
type ImageSummary struct {
	ID          string `json:"Id"`
	ParentID    string `json:"ParentId"`
	RepoTags    []string
	RepoDigests []string
	Created     int64 // Unix seconds; 0 when the config has no date
	// Size is what the image's blobs take in the store: its config and its
	// layers as stored (compressed when pulled, plain when loaded or
	// imported). Docker's classic store counts layers uncompressed.
	Size int64
	// SharedSize is the part of Size other images use too; -1 when not
	// computed (only system df computes it).
	SharedSize int64
	Labels     map[string]string
	// Containers counts the containers made from the image, running or not.
	Containers int64
}

// ImageListOptions are GET /images/json's parameters.
type ImageListOptions struct {
	// All shows intermediate images too. berth keeps none (it does not
	// build), so it changes nothing; it is here for docker's -a.
	All bool
	// Reference keeps the images with a name that matches: "busybox",
	// "busybox:1.36", "localhost:5000/*" (path.Match patterns).
	Reference string
	// Dangling, when set, keeps only the images without a name (true) or
	// only the named ones (false).
	Dangling *bool
}

// ImageConfig is an image's default container settings, as
// `docker image inspect` shows them under "Config".
type ImageConfig struct {
	User         string              `json:",omitempty"`
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Env          []string            `json:",omitempty"`
	Cmd          []string            `json:",omitempty"`
	ArgsEscaped  bool                `json:",omitempty"`
	Volumes      map[string]struct{} `json:",omitempty"`
	WorkingDir   string              `json:",omitempty"`
	Entrypoint   []string            `json:",omitempty"`
	Labels       map[string]string   `json:",omitempty"`
	StopSignal   string              `json:",omitempty"`
}

// ImageInspect is GET /images/{name}/json: everything about an image.
type ImageInspect struct {
	ID            string `json:"Id"`
	RepoTags      []string
	RepoDigests   []string
	Parent        string
	Comment       string
	Created       string // RFC 3339, as Docker writes it; "" when unknown
	DockerVersion string
	Author        string
	Config        *ImageConfig
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	OsVersion     string `json:",omitempty"`
	Size          int64
	GraphDriver   struct {
		Name string
		Data map[string]string
	}
	RootFS struct {
		Type   string
		Layers []string
	}
	Metadata struct {
		LastTagTime string `json:",omitempty"`
	}
	// Descriptor is the manifest the name points at (Docker 25+ with the
	// containerd store shows it too): berth keeps manifests, so it has one.
	Descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
}

// HistoryResponseItem is one step of an image's history, newest first:
// GET /images/{name}/history.
type HistoryResponseItem struct {
	ID        string `json:"Id"` // the image's ID on the top entry, "<missing>" below
	Created   int64
	CreatedBy string
	Tags      []string
	Size      int64 // the layer this step made, as stored; 0 for a step that made none
	Comment   string
}

// ImageRemoveOptions are DELETE /images/{name}'s parameters.
type ImageRemoveOptions struct {
	// Force removes a name even when a container uses the image, and an
	// image with names in several repositories by its ID.
	Force bool
}

// DeleteResponse is one line of an image removal: a name taken off or an
// image deleted.
type DeleteResponse struct {
	Untagged string `json:",omitempty"`
	Deleted  string `json:",omitempty"`
}

// ImagePruneOptions are POST /images/prune's parameters.
type ImagePruneOptions struct {
	// All removes every image no container uses, not only the dangling
	// ones (those without a name).
	All bool
}

// ImagesPruneReport is POST /images/prune's answer.
type ImagesPruneReport struct {
	ImagesDeleted  []DeleteResponse
	SpaceReclaimed uint64
}

// ImagePullOptions configure ImagePull.
type ImagePullOptions struct {
	// Progress receives each layer's journey (nil for none).
	Progress image.Progress
	// Registry configures the registry client: credentials
	// (image.DockerConfigCredentials, image.WithCredentials), hosts spoken
	// to in plain HTTP (image.WithInsecure). Docker's daemon holds the
	// second and the client sends the first; berth is both.
	Registry []image.ClientOption
}

// ImagePullResponse says what a pull did.
type ImagePullResponse struct {
	Ref    string // the full name: docker.io/library/busybox:latest
	ID     string // the image ID
	Digest string // the manifest's digest
	// Status is docker's last line: "Downloaded newer image for
	// busybox:latest" or "Image is up to date for busybox:latest".
	Status string
}

// ImagePushOptions configure ImagePush.
type ImagePushOptions struct {
	Progress image.Progress
	Registry []image.ClientOption
}

// ImageLoadOptions configure ImageLoad.
type ImageLoadOptions struct {
	Progress image.Progress
}

// LoadedImage is one name a load gave.
type LoadedImage struct {
	Name string // familiar, "busybox:latest"; "" when the tarball left it unnamed
	ID   string // the image ID
}

// DiskUsage is GET /system/df, summed per kind as API 1.52 does.
type DiskUsage struct {
	Images     ImagesDiskUsage
	Containers ContainersDiskUsage
	Volumes    VolumesDiskUsage
}

// ImagesDiskUsage is the image store's share of the disk: every blob and
// every unpacked layer.
type ImagesDiskUsage struct {
	TotalCount  int64
	ActiveCount int64 // images a container uses
	TotalSize   int64 // blobs and unpacked layers, each counted once
	Reclaimable int64 // what no container needs: system prune -a's share
	Items       []ImageSummary
}

// ContainerDiskUsage is one container's writable layer.
type ContainerDiskUsage struct {
	Summary
	SizeRw       int64
	LocalVolumes int // volumes it mounts
}

// ContainersDiskUsage is the containers' writable layers.
type ContainersDiskUsage struct {
	TotalCount  int64
	ActiveCount int64 // running
	TotalSize   int64
	Reclaimable int64 // the stopped ones'
	Items       []ContainerDiskUsage
}

// VolumeUsage is one volume and what uses it.
type VolumeUsage struct {
	Volume
	UsageData struct {
		Size     int64
		RefCount int64
	}
}

// VolumesDiskUsage is the volumes' data.
type VolumesDiskUsage struct {
	TotalCount  int64
	ActiveCount int64 // used by a container
	TotalSize   int64
	Reclaimable int64 // the unused ones'
	Items       []VolumeUsage
}

// SystemPruneOptions are docker system prune's flags.
type SystemPruneOptions struct {
	All     bool // every unused image, not only dangling ones
	Volumes bool // anonymous volumes no container uses
}

// SystemPruneReport says what SystemPrune removed.
type SystemPruneReport struct {
	ContainersDeleted []string
	NetworksDeleted   []string
	VolumesDeleted    []string
	ImagesDeleted     []DeleteResponse
	// LayersDeleted are unpacked layers (chain IDs) that no container
	// stood on; their images keep their blobs and unpack again when run.
	LayersDeleted  []string
	SpaceReclaimed uint64
}
