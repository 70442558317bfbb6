package ai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// request is what the fake API recorded of one call.
type request struct {
	Header http.Header
	Body   struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		System    []struct {
			Text string `json:"text"`
		} `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		} `json:"messages"`
	}
	Status int // the status the fake answered with
}

// Prompt returns the text of the user message.
func (r request) Prompt() string {
	var s string
	for _, m := range r.Body.Messages {
		for _, c := range m.Content {
			s += c.Text
		}
	}
	return s
}

// reply answers one call to the fake API and returns the status it wrote.
type reply func(w http.ResponseWriter, r *http.Request) int

// fakeAPI is an httptest server speaking the Messages API: POST
// /v1/messages. It answers the n-th call with the n-th reply, the last one
// repeating, and records every call.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	replies  []reply
}

func newFakeAPI(t *testing.T, replies ...reply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	var rec request
	rec.Header = r.Header.Clone()
	body, err := io.ReadAll(r.Body)
	if err != nil || json.Unmarshal(body, &rec.Body) != nil || r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"bad request"}}`, http.StatusBadRequest)
		rec.Status = http.StatusBadRequest
		f.record(rec)
		return
	}
	f.mu.Lock()
	rp := f.replies[min(len(f.requests), len(f.replies)-1)]
	f.mu.Unlock()
	rec.Status = rp(w, r)
	f.record(rec)
}

func (f *fakeAPI) record(r request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}

// Requests returns the calls recorded so far.
func (f *fakeAPI) Requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// text replies with a message holding text, stopped for reason.
func text(s string) reply { return stopped(s, "end_turn") }

func stopped(s, reason string) reply {
	return func(w http.ResponseWriter, r *http.Request) int {
		msg := map[string]any{
			"id": "msg_test", "type": "message", "role": "assistant", "model": "test-model",
			"content":     []map[string]any{{"type": "text", "text": s}},
			"stop_reason": reason, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 10, "output_tokens": 10},
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(msg)
		return http.StatusOK
	}
}

// status replies with an API error of the given status; header pairs are
// added to the response.
func status(code int, header ...string) reply {
	return func(w http.ResponseWriter, r *http.Request) int {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"type":"error","error":{"type":"api_error","message":"status %d"}}`, code)
		return code
	}
}

// hang answers only when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) int {
	<-r.Context().Done()
	return 0
}

// fakeContent is a ContentReader over fixed bodies; a nil base is unknown.
type fakeContent struct{ base, ours, theirs []byte }

func (f fakeContent) ReadVersion(ctx context.Context, v zerosync.Version, limit int64) ([]byte, error) {
	var b []byte
	switch v {
	case zerosync.VersionBase:
		if f.base == nil {
			return nil, zerosync.ErrNoBase
		}
		b = f.base
	case zerosync.VersionOurs:
		b = f.ours
	case zerosync.VersionTheirs:
		b = f.theirs
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %d bytes", zerosync.ErrTooLarge, len(b))
	}
	return b, nil
}

// conflict builds a file-vs-file conflict at path with the three bodies.
func conflict(path, base, ours, theirs string) zerosync.Conflict {
	entry := func(s string) *zerosync.Entry {
		return &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(s)), Digest: digest.Sum([]byte(s))}
	}
	return zerosync.Conflict{Path: path, Base: entry(base), Ours: entry(ours), Theirs: entry(theirs),
		Hosts:   [2]string{"alpha", "beta"},
		Content: fakeContent{base: []byte(base), ours: []byte(ours), theirs: []byte(theirs)}}
}

// newResolver returns a resolver talking to api with a test key, quick
// retries and the given options.
func newResolver(t *testing.T, api *fakeAPI, opts ...Option) *Resolver {
	t.Helper()
	r, err := New(append([]Option{WithAPIKey("test-key"), WithBaseURL(api.URL), WithModel("test-model")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) }
