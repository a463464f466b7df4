package network

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// iptables runs the iptables tools in the host's network namespace. It
// drives the commands rather than the kernel's interfaces on purpose:
// rules made this way are exactly what `iptables -S` shows, on hosts whose
// iptables is backed by nf_tables (Debian, Ubuntu, Fedora) and on legacy
// ones alike, beside Docker's own rules.
type iptables struct{ ns string }

func (t iptables) run(stdin string, name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := InNamespace(t.ns, func() error {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Stdout, cmd.Stderr = &out, &errb
		return cmd.Run()
	})
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("network: %s is not installed (apt-get install iptables): %w", name, err)
	}
	if err != nil {
		return out.String(), fmt.Errorf("network: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// save lists the rules of table, as iptables -S does.
func (t iptables) save(table string) (string, error) {
	return t.run("", "iptables", "-w", "-t", table, "-S")
}

// apply runs op (-A, -I or -D) for every rule in one iptables-restore
// transaction per table: all of them or none.
func (t iptables) apply(op string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := t.run(restoreScript(op, rules), "iptables-restore", "-w", "--noflush")
	return err
}

// remove deletes rules, skipping those that are already gone: teardown
// must finish even after a partial setup or a hand-edited table.
func (t iptables) remove(rules []Rule) error {
	if t.apply("-D", rules) == nil {
		return nil
	}
	var errs []error
	for _, r := range rules {
		check := append([]string{"-w", "-t", r.Table, "-C", r.Chain}, r.Args...)
		if _, err := t.run("", "iptables", check...); err != nil {
			continue // not there
		}
		del := append([]string{"-w", "-t", r.Table, "-D", r.Chain}, r.Args...)
		if _, err := t.run("", "iptables", del...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ensureBase creates berth's chains and the jumps to them, once.
func (t iptables) ensureBase() error {
	var script strings.Builder
	for _, table := range []string{"nat", "filter"} {
		have, err := t.save(table)
		if err != nil {
			return err
		}
		var lines []string
		for _, c := range baseChains {
			if c.Table != table {
				continue
			}
			if !strings.Contains(have, "-N "+c.Name+"\n") {
				lines = append(lines, ":"+c.Name+" - [0:0]")
				for _, r := range baseRules {
					if r.Chain == c.Name {
						lines = append(lines, r.line("-A"))
					}
				}
			}
			for _, j := range c.Jumps {
				if !strings.Contains(have, j.line("-A")+"\n") {
					lines = append(lines, j.line("-I"))
				}
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(&script, "*%s\n%s\nCOMMIT\n", table, strings.Join(lines, "\n"))
		}
	}
	if script.Len() == 0 {
		return nil
	}
	_, err := t.run(script.String(), "iptables-restore", "-w", "--noflush")
	return err
}

// removeBase removes the jumps and berth's chains: the last network is
// gone.
func (t iptables) removeBase() error {
	var jumps []Rule
	for _, c := range baseChains {
		jumps = append(jumps, c.Jumps...)
	}
	err := t.remove(jumps)
	// Flush all first (one chain jumps to another), then delete; a chain
	// already gone is no error.
	for _, c := range baseChains {
		t.run("", "iptables", "-w", "-t", c.Table, "-F", c.Name)
	}
	for _, c := range baseChains {
		if _, e := t.run("", "iptables", "-w", "-t", c.Table, "-X", c.Name); e != nil && !strings.Contains(e.Error(), "No chain") {
			err = errors.Join(err, e)
		}
	}
	return err
}
