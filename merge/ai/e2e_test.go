package ai

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/transport/local"
)

// e2e is two directories synced by an engine whose chain is
// Identical -> Diff3 -> AI (against a fake API) -> keep both.
type e2e struct {
	t      *testing.T
	e      *engine.Engine
	da, db string
	api    *fakeAPI
}

func newE2E(t *testing.T, api *fakeAPI, opts ...Option) *e2e {
	t.Helper()
	tmp := t.TempDir()
	x := &e2e{t: t, da: filepath.Join(tmp, "laptop"), db: filepath.Join(tmp, "server"), api: api}
	for _, d := range []string{x.da, x.db} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a, err := local.New(x.da)
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.New(x.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	x.e, err = engine.New(engine.Peer{Name: "laptop", Endpoint: a}, []engine.Peer{{Name: "server", Endpoint: b}},
		engine.WithStatePath(filepath.Join(tmp, "state.db")),
		engine.WithResolvers(merge.Identical(), must(merge.Diff3()), newResolver(t, api, opts...)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.e.Close() })
	return x
}

func (x *e2e) write(dir, name, content string) {
	x.t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		x.t.Fatal(err)
	}
}

func (x *e2e) read(dir, name string) string {
	x.t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		x.t.Fatal(err)
	}
	return string(b)
}

func (x *e2e) sync() zerosync.Report {
	x.t.Helper()
	rep, err := x.e.SyncOnce(context.Background())
	if err != nil {
		x.t.Fatal(err)
	}
	return rep
}

// conflict makes name conflict: synced as base, then edited on both sides.
func (x *e2e) conflict(name, base, ours, theirs string) zerosync.Report {
	x.t.Helper()
	x.write(x.da, name, base)
	x.sync()
	x.write(x.da, name, ours)
	x.write(x.db, name, theirs)
	return x.sync()
}

// keptBoth checks that a failed merge kept ours in both trees, theirs as a
// conflict copy on our side, and a review entry.
func (x *e2e) keptBoth(rep zerosync.Report, name, ours, theirs string) {
	x.t.Helper()
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Resolution.By != "keep-both" {
		x.t.Fatalf("conflicts: %+v; want one settled by keep-both", rep.Conflicts)
	}
	if got := x.read(x.da, name); got != ours {
		x.t.Errorf("laptop holds %q, want ours", got)
	}
	if got := x.read(x.db, name); got != ours {
		x.t.Errorf("server holds %q, want ours", got)
	}
	cp := rep.Conflicts[0].CopyPath
	if cp == "" || x.read(x.da, cp) != theirs {
		x.t.Errorf("conflict copy %q does not hold theirs", cp)
	}
	reviews, err := x.e.Reviews(context.Background())
	if err != nil || len(reviews["server"]) != 1 {
		x.t.Errorf("review queue = %v, %v; want one entry", reviews, err)
	}
}

const (
	e2eBase   = "{\n  \"name\": \"web\",\n  \"port\": 80\n}\n"
	e2eOurs   = "{\n  \"name\": \"web\",\n  \"port\": 8080\n}\n"
	e2eTheirs = "{\n  \"name\": \"web\",\n  \"port\": 8443\n}\n"
)

func TestEndToEndDiff3MergesWithoutAPI(t *testing.T) {
	api := newFakeAPI(t, text("must not be asked"))
	x := newE2E(t, api)
	rep := x.conflict("notes.txt", "one\ntwo\nthree\nfour\nfive\n", "ONE\ntwo\nthree\nfour\nfive\n", "one\ntwo\nthree\nfour\nFIVE\n")
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Resolution.By != "diff3" {
		t.Fatalf("conflicts: %+v; want one merged by diff3", rep.Conflicts)
	}
	for _, d := range []string{x.da, x.db} {
		if got := x.read(d, "notes.txt"); got != "ONE\ntwo\nthree\nfour\nFIVE\n" {
			t.Errorf("%s holds %q", d, got)
		}
	}
	if n := len(api.Requests()); n != 0 {
		t.Errorf("%d API requests for a clean merge", n)
	}
}

func TestEndToEndAI(t *testing.T) {
	merged := "{\n  \"name\": \"web\",\n  \"port\": 8443,\n  \"alt_port\": 8080\n}\n"
	tests := []struct {
		name    string
		replies []reply
		opts    []Option
		merged  bool
		calls   int
	}{
		{"success", []reply{text(merged)}, nil, true, 1},
		{"markers left in the answer", []reply{text("{\n<<<<<<< ours\n  \"port\": 8080\n=======\n  \"port\": 8443\n>>>>>>> theirs\n}\n")}, nil, false, 1},
		{"malformed JSON", []reply{text("{\n  \"name\": \"web\",\n  \"port\": 8443,\n")}, nil, false, 1},
		{"429 then success", []reply{status(http.StatusTooManyRequests, "retry-after-ms", "1"), text(merged)}, nil, true, 2},
		{"timeout", []reply{hang}, []Option{WithTimeout(200 * time.Millisecond)}, false, 1},
		{"500", []reply{status(http.StatusInternalServerError, "retry-after-ms", "1")}, []Option{WithMaxRetries(1)}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.replies...)
			x := newE2E(t, api, tt.opts...)
			rep := x.conflict("config.json", e2eBase, e2eOurs, e2eTheirs)
			if n := len(api.Requests()); n < tt.calls {
				t.Errorf("%d API requests, want %d", n, tt.calls)
			}
			if !tt.merged {
				x.keptBoth(rep, "config.json", e2eOurs, e2eTheirs)
				return
			}
			if len(rep.Conflicts) != 1 || !strings.HasPrefix(rep.Conflicts[0].Resolution.By, "ai:") {
				t.Fatalf("conflicts: %+v; want one merged by the AI", rep.Conflicts)
			}
			for _, d := range []string{x.da, x.db} {
				if got := x.read(d, "config.json"); got != merged {
					t.Errorf("%s holds %q, want the merge", d, got)
				}
			}
			recs, err := x.e.Journal(context.Background(), "server", 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range recs {
				if r.Op == "conflict" && r.By == "ai:test-model" {
					found = true
				}
			}
			if !found {
				t.Errorf("the journal does not record the model: %+v", recs)
			}
		})
	}
}

func TestEndToEndSecretsNeverSent(t *testing.T) {
	api := newFakeAPI(t, text("SECRET=merged\n"))
	x := newE2E(t, api)
	rep := x.conflict(".env", "SECRET=base\n", "SECRET=ours\n", "SECRET=theirs\n")
	x.keptBoth(rep, ".env", "SECRET=ours\n", "SECRET=theirs\n")
	if n := len(api.Requests()); n != 0 {
		t.Fatalf("%d requests reached the API for a secret file", n)
	}
}

// must returns v, panicking on err: for constructors in test set-up.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
