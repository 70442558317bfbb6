package merge

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/zerosync/zerosync"
)

// StructuredOption configures [Structured].
type StructuredOption func(*structuredResolver) error

// StructuredBase sets where [Structured] finds the common ancestor; the
// default is [StoredBase] with the size limit of [StructuredMaxSize].
func StructuredBase(p zerosync.BaseProvider) StructuredOption {
	return func(s *structuredResolver) error {
		if p == nil {
			return errors.New("merge: StructuredBase: nil provider")
		}
		s.base = p
		return nil
	}
}

// StructuredMaxSize sets the largest version, in bytes, that [Structured]
// merges; a conflict with a larger base, ours or theirs is passed on. The
// default is [DefaultMaxSize].
func StructuredMaxSize(n int64) StructuredOption {
	return func(s *structuredResolver) error {
		if n <= 0 {
			return fmt.Errorf("merge: StructuredMaxSize(%d): size must be positive", n)
		}
		s.max = n
		return nil
	}
}

// Structured returns a resolver that merges JSON, YAML and TOML files key by
// key against their common ancestor: when one side changed key "a" and the
// other key "b", both changes are kept, even when they were on one line (a
// one-line JSON object, an inline TOML table). Both sides get the merged
// file, with By "structured". The format is told by the file name: ".json",
// ".yaml" or ".yml", ".toml", in any case.
//
// # What merges
//
// Objects (JSON objects, YAML mappings, TOML tables) merge key by key, at
// any depth. A value only one side changed is taken whole from that side;
// a key one side added or deleted is added or deleted. Arrays, and values
// of different kinds, are values: a change to one by both sides, to
// different values, is a conflict, as is a change to a key the other side
// deleted. Structured passes ([zerosync.ErrPass], with the key named) on a
// conflict, so the next resolver decides. Values compare as written, not as
// what they mean: 1.0 is not 1, and 0x10 is not 16.
//
// Keys keep ours' order; a key only theirs added follows the key it follows
// in theirs. What is not merged is written as its side wrote it. In YAML
// and TOML, the comment lines right above a key or a table header belong
// to it: they go where it goes, and go with it when it is deleted.
//
//   - JSON: every value as written, a merged object in the layout of ours'
//     (one line stays one line, indentation is kept).
//   - YAML: the lines of each key as its side wrote them, comments, blank
//     lines and quoting included. When a merged mapping cannot be written so
//     (it is a one-line flow mapping, or the lines would not read back as
//     the merge), the whole file is written by gopkg.in/yaml.v3 from the
//     parsed nodes: comments and key order are kept, blank lines are not,
//     and indentation is made uniform. Anchors,
//     aliases and merge keys ("<<") are not merged (an alias changes with
//     its anchor), nor are files of several documents.
//   - TOML: every key/value line and table header as its side wrote it,
//     with its comments (go-toml's unstable parser gives them; its
//     marshaller would not keep them), tables in ours' order. A merged
//     inline table is written on one line; a comment inside one, or after
//     the last key, can be lost there.
//
// # When it passes
//
// Structured passes when the file name is not one of the formats above,
// when either version is not a regular file, when no base is known, when
// any of base, ours and theirs is over the size limit, does not parse, or
// nests deeper than 512 levels, and when the merged file, read back, is not
// the merged value: the output is always parsed again and compared with
// what the merge decided before it is used.
//
// The permission bits of the result are theirs when only theirs changed
// them since the base, ours otherwise. An invalid option is an error naming
// it.
func Structured(opts ...StructuredOption) (zerosync.Resolver, error) {
	s := &structuredResolver{max: DefaultMaxSize}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.base == nil {
		s.base = StoredBase(s.max)
	}
	return s, nil
}

type structuredResolver struct {
	base zerosync.BaseProvider
	max  int64
}

func (s *structuredResolver) Resolve(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
	const by = "structured"
	mergeFormat := structuredFormat(c.Path)
	switch {
	case mergeFormat == nil:
		return zerosync.Resolution{}, pass(by, "not a JSON, YAML or TOML file")
	case !isFile(c.Ours) || !isFile(c.Theirs):
		return zerosync.Resolution{}, pass(by, "not two files")
	case c.Content == nil:
		return zerosync.Resolution{}, pass(by, "no content reader")
	}
	var bodies [3][]byte
	for i, v := range []zerosync.Version{zerosync.VersionOurs, zerosync.VersionTheirs} {
		b, err := c.Content.ReadVersion(ctx, v, s.max)
		switch {
		case errors.Is(err, zerosync.ErrTooLarge):
			return zerosync.Resolution{}, passErr(by, err)
		case err != nil:
			return zerosync.Resolution{}, fmt.Errorf("structured: read %q: %w", c.Path, err)
		}
		bodies[i+1] = b
	}
	base, err := s.base.Base(ctx, c)
	switch {
	case errors.Is(err, zerosync.ErrNoBase), errors.Is(err, zerosync.ErrTooLarge):
		return zerosync.Resolution{}, passErr(by, err)
	case err != nil:
		return zerosync.Resolution{}, fmt.Errorf("structured: base of %q: %w", c.Path, err)
	case int64(len(base)) > s.max:
		return zerosync.Resolution{}, pass(by, "base of %q is over %d bytes", c.Path, s.max)
	}
	bodies[0] = base
	merged, err := mergeFormat(bodies[0], bodies[1], bodies[2])
	if err != nil {
		return zerosync.Resolution{}, passErr(by, err)
	}
	if merged == nil {
		merged = []byte{}
	}
	return zerosync.Resolution{Merged: merged, Mode: mergeMode(c), By: by,
		Note: "changes of both sides merged key by key"}, nil
}

// structuredMerge merges base, ours and theirs of one format, or says why
// not.
type structuredMerge func(base, ours, theirs []byte) ([]byte, error)

// structuredFormat returns the merge for a file name, or nil.
func structuredFormat(p string) structuredMerge {
	switch strings.ToLower(path.Ext(p)) {
	case ".json":
		return func(base, ours, theirs []byte) ([]byte, error) {
			return mergeDocs("JSON", parseJSON, func(d *jsonDoc) *value { return d.root }, base, ours, theirs, renderJSON)
		}
	case ".yaml", ".yml":
		return func(base, ours, theirs []byte) ([]byte, error) {
			return mergeDocs("YAML", parseYAML, func(d *yamlDoc) *value { return d.root }, base, ours, theirs, renderYAML, encodeYAML)
		}
	case ".toml":
		return func(base, ours, theirs []byte) ([]byte, error) {
			return mergeDocs("TOML", parseTOML, func(d *tomlDoc) *value { return d.root }, base, ours, theirs, renderTOML)
		}
	}
	return nil
}

// mergeDocs parses the three versions, merges them, and writes the merge
// with the first of the renderers whose output reads back as the merged
// value.
func mergeDocs[D any](format string, parse func([]byte) (D, error), root func(D) *value, base, ours, theirs []byte,
	renderers ...func(merged *value, ours, theirs D) ([]byte, error)) ([]byte, error) {
	var docs [3]D
	for i, b := range [][]byte{base, ours, theirs} {
		d, err := parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s is not %s that can be merged: %w", [3]string{"base", "ours", "theirs"}[i], format, err)
		}
		docs[i] = d
	}
	merged, err := merge3Values(root(docs[0]), root(docs[1]), root(docs[2]), nil)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, render := range renderers {
		out, err := render(merged, docs[1], docs[2])
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the merge as %s: %w", format, err))
			continue
		}
		back, err := parse(out)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("the merge does not read back as %s: %w", format, err))
		case root(back).sum != merged.sum:
			errs = append(errs, errors.New("the merge reads back as another value than merged"))
		default:
			return out, nil
		}
	}
	return nil, errors.Join(errs...)
}
