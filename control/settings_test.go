package control

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// FuzzSettingsRequest feeds arbitrary bodies to POST /v1/settings, as a
// peer's daemon could send them: the server never panics, answers 200 or
// 400, and applies only settings of the keys it knows, with a generation
// and an origin.
func FuzzSettingsRequest(f *testing.F) {
	f.Add([]byte(`{"setting":{"key":"mode","value":"all","generation":3,"origin":"abc","host":"h"}}`))
	f.Add([]byte(`{"key":"mode","value":"git-only"}`))
	f.Add([]byte(`{"setting":{"key":"root","value":"/","generation":1,"origin":"x"}}`))
	f.Add([]byte(`{"setting":{"key":"mode","generation":0}}`))
	f.Add([]byte(`[]`))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: memory.New()}, []engine.Peer{{Name: "b", Endpoint: memory.New()}}, engine.WithVolatileState())
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	var applied []string
	ev, err := NewEverywhere(e, filepath.Join(f.TempDir(), "settings.json"),
		WithSetting("mode", false, func(ctx context.Context, v string) error { applied = append(applied, v); return nil }))
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(e, WithEverywhere(ev))
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	h := srv.routes()
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(applied)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/settings", bytes.NewReader(body)))
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("answered %d: %s", w.Code, w.Body)
		}
		if len(applied) > before {
			var req SetRequest
			if json.Unmarshal(body, &req) != nil {
				t.Fatalf("applied a setting from a body that does not decode: %q", body)
			}
			key := req.Key
			if req.Setting != nil {
				key = req.Setting.Key
				if checkPassed(*req.Setting) != nil {
					t.Fatalf("applied a setting that fails the checks: %+v", *req.Setting)
				}
			}
			if key != "mode" {
				t.Fatalf("applied a setting of key %q", key)
			}
		}
	})
}
