//go:build linux

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/template"
)

// templateFuncs are the functions docker gives --format templates.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(buf.String()), nil
	},
	"join":  joinAny,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		words := strings.Fields(s)
		for i, w := range words {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
		return strings.Join(words, " ")
	},
	"pad": func(s string, before, after int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
	"truncate": func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		return s[:n]
	},
}

// joinAny joins a list's elements, or a map's values in sorted order.
func joinAny(v any, sep string) (string, error) {
	if v == nil {
		return "", nil
	}
	if ss, ok := v.([]string); ok {
		return strings.Join(ss, sep), nil
	}
	rv := reflect.ValueOf(v)
	var parts []string
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			parts = append(parts, fmt.Sprint(rv.Index(i).Interface()))
		}
	case reflect.Map:
		for _, k := range rv.MapKeys() {
			parts = append(parts, fmt.Sprint(rv.MapIndex(k).Interface()))
		}
		sort.Strings(parts)
	default:
		return "", fmt.Errorf("join: want a list, got %T", v)
	}
	return strings.Join(parts, sep), nil
}

// parseTemplate reads a --format template.
func parseTemplate(format string) (*template.Template, error) {
	t, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// inspector writes what inspect finds: an indented JSON array (4 spaces,
// as docker), or one line per object through a --format template.
type inspector struct {
	out   io.Writer
	tmpl  *template.Template // nil: JSON
	elems []any
	lines bytes.Buffer
}

func newInspector(out io.Writer, format string) (*inspector, error) {
	i := &inspector{out: out}
	if format != "" {
		t, err := parseTemplate(format)
		if err != nil {
			return nil, err
		}
		i.tmpl = t
	}
	return i, nil
}

// add formats v. A template runs on v itself, so {{.State.ExitCode}}
// works; if that fails it runs on v's JSON, so docker's spellings work too
// ({{.Id}} where Go has ID).
func (i *inspector) add(v any) error {
	if i.tmpl == nil {
		i.elems = append(i.elems, v)
		return nil
	}
	var buf bytes.Buffer
	if err := i.tmpl.Execute(&buf, v); err != nil {
		raw, jerr := asJSONValue(v)
		if jerr != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		buf.Reset()
		if err := i.tmpl.Option("missingkey=error").Execute(&buf, raw); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
	}
	i.lines.Write(buf.Bytes())
	i.lines.WriteByte('\n')
	return nil
}

func (i *inspector) flush() error {
	if i.tmpl != nil {
		if i.lines.Len() == 0 {
			_, err := io.WriteString(i.out, "\n")
			return err
		}
		_, err := i.out.Write(i.lines.Bytes())
		return err
	}
	if len(i.elems) == 0 {
		_, err := io.WriteString(i.out, "[]\n")
		return err
	}
	return writeJSON(i.out, i.elems)
}

// writeJSON writes v as docker does: indented by 4 spaces, '<' and '&'
// left as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// asJSONValue is v as its JSON decodes into maps and lists, numbers kept
// exact.
func asJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// formatWith executes a --format template on v, a line (info -f).
func formatWith(w io.Writer, format string, v any) error {
	i, err := newInspector(w, format)
	if err != nil {
		return err
	}
	if err := i.add(v); err != nil {
		return err
	}
	return i.flush()
}

// inspectAll is every inspect command: it looks each name up with get,
// prints what it found, then the names it did not find; the status is 1
// if any was not found, as docker.
func (b *berthCLI) inspectAll(names []string, format string, get func(name string) (any, error)) error {
	ins, err := newInspector(b.out, format)
	if err != nil {
		return statusError{status: "berth: " + err.Error(), code: 64}
	}
	var errs []string
	for _, name := range names {
		v, err := get(name)
		if err == nil {
			err = ins.add(v)
		}
		if err != nil {
			errs = append(errs, message(err))
		}
	}
	if err := ins.flush(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return statusError{status: "berth: " + strings.Join(errs, "\nberth: "), code: 1}
	}
	return nil
}
