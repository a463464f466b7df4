package engine

import (
	"context"
	"errors"
	"fmt"

	network "berth/05-network"
)

// NetworkCreate makes a user-defined bridge network (chapter 05): its
// containers resolve each other by name.
func (e *Engine) NetworkCreate(ctx context.Context, req NetworkCreateRequest) (NetworkResource, error) {
	if req.Driver != "" && req.Driver != "bridge" {
		return NetworkResource{}, fmt.Errorf("%w: network driver %q: berth has only the bridge driver", ErrInvalid, req.Driver)
	}
	m, err := e.network()
	if err != nil {
		return NetworkResource{}, err
	}
	cfg := network.Config{Name: req.Name}
	if len(req.IPAM.Config) > 0 && req.IPAM.Config[0].Subnet != "" {
		if cfg.Subnet, err = network.ParseSubnet(req.IPAM.Config[0].Subnet); err != nil {
			return NetworkResource{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if _, err := m.Get(req.Name); err == nil {
		return NetworkResource{}, fmt.Errorf("%w: network with name %s already exists", ErrConflict, req.Name)
	}
	n, err := m.Create(cfg)
	if err != nil {
		return NetworkResource{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return e.networkResource(m, n)
}

// NetworkList returns every network.
func (e *Engine) NetworkList(ctx context.Context) ([]NetworkResource, error) {
	m, err := e.network()
	if err != nil {
		return nil, err
	}
	if _, err := m.Default(); err != nil {
		return nil, fmt.Errorf("engine: the default network: %w", err)
	}
	ns, err := m.List()
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	out := []NetworkResource{}
	for _, n := range ns {
		r, err := e.networkResource(m, n)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// NetworkInspect returns the network called name (or with that ID prefix).
func (e *Engine) NetworkInspect(ctx context.Context, name string) (NetworkResource, error) {
	m, err := e.network()
	if err != nil {
		return NetworkResource{}, err
	}
	n, err := e.findNetwork(m, name)
	if err != nil {
		return NetworkResource{}, err
	}
	return e.networkResource(m, n)
}

// NetworkRemove deletes a network no container is attached to.
func (e *Engine) NetworkRemove(ctx context.Context, name string) error {
	m, err := e.network()
	if err != nil {
		return err
	}
	n, err := e.findNetwork(m, name)
	if err != nil {
		return err
	}
	if n.IsDefault() {
		return fmt.Errorf("%w: %s is the default network and cannot be removed", ErrConflict, n.Name)
	}
	users, err := e.networkUsers(n.Name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("%w: network %s is used by container %s: remove it first", ErrConflict, n.Name, users[0])
	}
	if err := m.Remove(n.Name); err != nil {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return nil
}

func (e *Engine) findNetwork(m *network.Manager, name string) (network.Network, error) {
	if name == network.DefaultNetwork {
		return m.Default()
	}
	n, err := m.Get(name)
	if err == nil {
		return n, nil
	}
	ns, lerr := m.List()
	if lerr == nil && len(name) >= 4 {
		for _, c := range ns {
			if len(c.ID) >= len(name) && c.ID[:len(name)] == name {
				return c, nil
			}
		}
	}
	if errors.Is(err, network.ErrNoSuchNetwork) {
		return n, fmt.Errorf("%w: network %s not found", ErrNotFound, name)
	}
	return n, fmt.Errorf("engine: %w", err)
}

// networkUsers lists the containers (names) created on network name.
func (e *Engine) networkUsers(name string) ([]string, error) {
	all, err := e.all()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range all {
		if c.HostConfig.NetworkMode == name {
			users = append(users, c.Name)
		}
	}
	return users, nil
}

func (e *Engine) networkResource(m *network.Manager, n network.Network) (NetworkResource, error) {
	r := NetworkResource{Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: "bridge",
		Attachable: true, Containers: map[string]NetworkContainer{},
		Options: map[string]string{"com.docker.network.bridge.name": n.Bridge}, Labels: map[string]string{}}
	r.IPAM.Driver = "default"
	r.IPAM.Config = []struct{ Subnet, Gateway string }{{n.Subnet.String(), n.Gateway.String()}}
	eps, err := m.Endpoints(n.Name)
	if err != nil {
		return r, fmt.Errorf("engine: %w", err)
	}
	for _, ep := range eps {
		r.Containers[ep.ID] = NetworkContainer{Name: ep.Name, EndpointID: ep.ID,
			IPv4Address: fmt.Sprintf("%s/%d", ep.IP, ep.Subnet.Bits())}
	}
	return r, nil
}
