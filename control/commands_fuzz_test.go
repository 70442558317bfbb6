package control

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// FuzzCommandRequest feeds arbitrary names and bodies to POST
// /v1/commands/{name}, as a client (or a peer's daemon, through the
// agent) could send them: the server never panics, answers 200, 400 or
// 404 (or redirects a name that is a dot segment to the cleaned path),
// and runs a command only with the arguments the body holds.
func FuzzCommandRequest(f *testing.F) {
	f.Add("mode", []byte(`{"args":["all"]}`))
	f.Add("history", []byte(`{"args":["log","a\u0000b"]}`))
	f.Add("x/../y", []byte(`{"args":null}`))
	f.Add("mode", []byte(`{"args":"all"}`))
	f.Add("", []byte(`[]`))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: memory.New()}, []engine.Peer{{Name: "b", Endpoint: memory.New()}}, engine.WithVolatileState())
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	var (
		ran     bool
		gotName string
		gotArgs []string
	)
	run := func(ctx context.Context, name string, args []string, out io.Writer) (int, error) {
		if name != "mode" && name != "history" {
			return 0, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no command"}
		}
		ran, gotName, gotArgs = true, name, args
		out.Write([]byte("ran\n"))
		return 0, nil
	}
	srv, err := New(e, WithCommands(run))
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	h := srv.routes()
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		ran = false
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/commands/"+url.PathEscape(name), bytes.NewReader(body)))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect:
			// The mux sends a name such as "." or ".." to its cleaned path.
		default:
			t.Fatalf("answered %d: %s", w.Code, w.Body)
		}
		if !ran {
			return
		}
		var req CommandRequest
		if json.Unmarshal(body, &req) != nil {
			t.Fatalf("ran a command from a body that does not decode: %q", body)
		}
		if gotName != name || !slices.Equal(gotArgs, req.Args) {
			t.Fatalf("ran %q %q, asked %q %q", gotName, gotArgs, name, req.Args)
		}
		if w.Code != http.StatusOK {
			t.Fatalf("ran, but answered %d", w.Code)
		}
	})
}
