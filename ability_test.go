package zerosync_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

// tree is a minimal endpoint: a fixed snapshot, files read as their path.
type tree struct{ snap zerosync.Snapshot }

func (t *tree) Scan(context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	out := zerosync.Snapshot{}
	for k, v := range t.snap {
		out[k] = v
	}
	return out, nil, nil
}
func (t *tree) Open(_ context.Context, p string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("whole " + p)), nil
}
func (t *tree) Apply(context.Context, zerosync.Op, io.Reader) error { return nil }
func (t *tree) Close() error                                        { return nil }

// scanner adds the PathScanner ability.
type scanner struct{ *tree }

func (s scanner) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	return zerosync.Snapshot{"scanned": {Kind: zerosync.KindDir}}, nil, nil
}

// wrapper decorates an endpoint and unwraps to it.
type wrapper struct{ zerosync.Endpoint }

func (w wrapper) Unwrap() zerosync.Endpoint { return w.Endpoint }

// loop unwraps to itself.
type loop struct{ zerosync.Endpoint }

func (l *loop) Unwrap() zerosync.Endpoint { return l }

func TestAsFindsAbilitiesThroughWrappers(t *testing.T) {
	base := &tree{snap: zerosync.Snapshot{"a": {Kind: zerosync.KindDir}, "a/x": {Kind: zerosync.KindFile}, "b": {Kind: zerosync.KindDir}}}
	ep := wrapper{wrapper{scanner{base}}}
	if _, ok := zerosync.As[zerosync.PathScanner](ep); !ok {
		t.Fatal("PathScanner not found through two wrappers")
	}
	if _, ok := zerosync.As[zerosync.Archiver](ep); ok {
		t.Fatal("found an ability nobody has")
	}
	if _, ok := zerosync.As[zerosync.Archiver](&loop{Endpoint: base}); ok {
		t.Fatal("a self-wrapping endpoint has no abilities")
	}

	s, _, partial, err := zerosync.ScanPaths(context.Background(), ep, []string{"a"})
	if err != nil || !partial || s.Get("scanned") == nil {
		t.Fatalf("ScanPaths through wrappers: %v %v %v", s, partial, err)
	}
	s, _, partial, err = zerosync.ScanPaths(context.Background(), wrapper{base}, []string{"a"})
	if err != nil || partial || len(s) != 2 || s.Get("a/x") == nil {
		t.Fatalf("ScanPaths fallback: %v %v %v", s, partial, err)
	}
	rc, err := zerosync.OpenDelta(context.Background(), wrapper{base}, "f", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if string(b) != "whole f" {
		t.Fatalf("OpenDelta fallback read %q", b)
	}
}

func TestProblemUnwraps(t *testing.T) {
	pr := zerosync.Problem{Path: "x", Err: zerosync.ErrChanged}
	var err error = pr
	if !errors.Is(err, zerosync.ErrChanged) {
		t.Fatal("a Problem does not unwrap to its error")
	}
}
