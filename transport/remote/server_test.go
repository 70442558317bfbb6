package remote

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/local"
)

// unwatched is a local endpoint without its watcher: fuzzing must not
// spend the host's inotify instances, which every process of the user
// shares.
type unwatched struct {
	zerosync.Endpoint
	zerosync.Copier
	zerosync.Archiver
	zerosync.Identifier
	zerosync.PartialKeeper
}

// sessionSeeds are client sessions after the handshake: sequences of
// frames an honest client sends, and a few a hostile one would.
func sessionSeeds() [][]byte {
	data := []byte("payload")
	file := fileEntry(data, 0o644)
	existing := fileEntry([]byte("existing content"), 0o644)
	var seeds [][]byte
	frames := func(fs ...[]byte) {
		var b []byte
		for _, f := range fs {
			b = append(b, f...)
		}
		seeds = append(seeds, b)
	}
	open := appendFrame(nil, tOpenRoot, 1, request{typ: tOpenRoot, root: "/any"}.encode())
	req := func(id uint64, r request) []byte { return appendFrame(nil, r.typ, id, r.encode()) }
	frame := func(typ ftype, id uint64, p []byte) []byte { return appendFrame(nil, typ, id, p) }
	frames(open)
	frames(open, req(3, request{typ: tApply, handle: 1, op: zerosync.Op{Path: "new.txt", New: file}}), frame(tData, 3, data), frame(tEnd, 3, nil))
	frames(open, req(3, request{typ: tScan, handle: 1}), req(5, request{typ: tScan, handle: 1, since: 1}))
	frames(open, req(3, request{typ: tOpen, handle: 1, path: "existing"}), frame(tWindow, 3, encodeWindow(1000)), frame(tCancel, 3, nil))
	frames(open, req(3, request{typ: tCopy, handle: 1, src: "existing", op: zerosync.Op{Path: "copy", New: existing}}))
	frames(open, req(3, request{typ: tKeep, handle: 1, path: "existing", entry: file, note: "n"}), frame(tData, 3, data), frame(tEnd, 3, nil))
	frames(open, req(3, request{typ: tApplyDelta, handle: 1, op: zerosync.Op{Path: "existing", Old: existing, New: file}}),
		frame(tDelta, 3, []byte{opLiteral, byte(len(data))}), frame(tData, 3, data), frame(tEnd, 3, nil))
	frames(open, req(3, request{typ: tOpenDelta, handle: 1, path: "existing"}), frame(tSigs, 3, encodeSigs(minBlock, strongMax, 0, 16, 0, nil)))
	frames(open, req(3, request{typ: tApplyResume, handle: 1, op: zerosync.Op{Path: "big", New: file}}),
		frame(tDelta, 3, []byte{opLiteral, byte(len(data))}), frame(tData, 3, data), frame(tEnd, 3, nil))
	frames(open, req(3, request{typ: tApplyResume, handle: 1, op: zerosync.Op{Path: "existing", Old: existing, New: file}}),
		frame(tDelta, 3, []byte{opCopy, 0, 1}), frame(tEnd, 3, nil))
	frames(open, req(3, request{typ: tMarkRoot, handle: 1}), req(5, request{typ: tRootID, handle: 1}), req(7, request{typ: tCloseRoot, handle: 1}))
	frames(open, frame(tPing, 0, nil), frame(tPing, 1, nil), frame(tGoaway, 0, encodeError(io.EOF)))
	frames(open, req(3, request{typ: tApply, handle: 1, op: zerosync.Op{Path: "../sentinel", New: file}}), frame(tData, 3, data), frame(tEnd, 3, nil))
	frames(open, req(3, request{typ: tApply, handle: 1, op: zerosync.Op{Path: "existing", Old: existing, Archive: true}}))
	frames(open, req(3, request{typ: tApply, handle: 1, op: zerosync.Op{Path: "d", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}}}),
		req(5, request{typ: tApply, handle: 1, op: zerosync.Op{Path: "d/l", New: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "../../sentinel"}}}),
		req(7, request{typ: tApply, handle: 1, op: zerosync.Op{Path: "d/l/x", New: file}}), frame(tData, 7, data), frame(tEnd, 7, nil))
	frames(open, req(3, request{typ: tScanPaths, handle: 1, paths: []string{"existing", "d", "../sentinel"}}))
	return seeds
}

// FuzzServeSession feeds arbitrary sessions to the agent's whole request
// loop, after a valid handshake offering every capability, over a pipe, in
// a synctest bubble (fake time; the agent's work runs until it waits on
// the client). The agent serves a local root with a sentinel file beside
// it. It must not panic, must write nothing outside the root, and must
// return once the client hangs up.
func FuzzServeSession(f *testing.F) {
	for _, s := range sessionSeeds() {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 3, byte(tOpenRoot), 1})
	f.Fuzz(func(t *testing.T, session []byte) {
		sb := newSandbox(t)
		synctest.Test(t, func(t *testing.T) {
			open := func(context.Context, string) (zerosync.Endpoint, error) {
				// Every root asked for is the sandbox's root: arbitrary
				// input cannot guess a temporary directory's name.
				ep, err := local.New(sb.root)
				if err != nil {
					return nil, err
				}
				return unwatched{Endpoint: ep, Copier: ep, Archiver: ep, Identifier: ep, PartialKeeper: ep}, nil
			}
			a, b := net.Pipe()
			served := make(chan error, 1)
			go func() { served <- Serve(t.Context(), b, open) }()
			go io.Copy(io.Discard, a)
			hi := appendFrame([]byte(magic), tHello, 0, hello{min: 1, max: 1, version: "fuzz", caps: capAll}.encode())
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				if _, err := a.Write(hi); err == nil {
					a.Write(session)
				}
			}()
			synctest.Wait() // the agent has done what it can with the session
			a.Close()
			<-wrote
			select {
			case <-served:
			case <-time.After(time.Minute):
				t.Fatal("Serve did not return after the client hung up")
			}
		})
		expectBytes(t, sb.sentinel, []byte("outside the root"))
		ents, err := os.ReadDir(sb.parent)
		if err != nil || len(ents) != 2 || ents[0].Name() != "root" || ents[1].Name() != "sentinel" {
			t.Fatalf("beside the root: %v, %v", ents, err)
		}
	})
}
