package ai

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/zerosync/zerosync"
)

const (
	baseJSON   = "{\n  \"name\": \"app\",\n  \"port\": 80\n}\n"
	oursJSON   = "{\n  \"name\": \"app\",\n  \"port\": 8080\n}\n"
	theirsJSON = "{\n  \"name\": \"web\",\n  \"port\": 80\n}\n"
	mergedJSON = "{\n  \"name\": \"web\",\n  \"port\": 8080\n}\n"
)

func jsonConflict() zerosync.Conflict {
	return conflict("config/app.json", baseJSON, oursJSON, theirsJSON)
}

func TestResolveMerges(t *testing.T) {
	api := newFakeAPI(t, text(mergedJSON))
	res, err := newResolver(t, api).Resolve(context.Background(), jsonConflict())
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Merged) != mergedJSON {
		t.Errorf("Merged = %q, want %q", res.Merged, mergedJSON)
	}
	if res.By != "ai:test-model" || !res.KeepOther {
		t.Errorf("By = %q, KeepOther = %v; want ai:test-model, true", res.By, res.KeepOther)
	}

	reqs := api.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if got := req.Header.Get("X-Api-Key"); got != "test-key" {
		t.Errorf("x-api-key = %q", got)
	}
	if req.Header.Get("Anthropic-Version") == "" {
		t.Error("no anthropic-version header")
	}
	if req.Body.Model != "test-model" || req.Body.MaxTokens <= 0 {
		t.Errorf("model %q, max_tokens %d", req.Body.Model, req.Body.MaxTokens)
	}
	if len(req.Body.System) != 1 || !strings.Contains(req.Body.System[0].Text, declined) {
		t.Errorf("system prompt = %+v", req.Body.System)
	}
	p := req.Prompt()
	for _, want := range []string{"config/app.json", baseJSON, oursJSON, theirsJSON, "BEGIN BASE", "END THEIRS"} {
		if !strings.Contains(p, want) {
			t.Errorf("prompt lacks %q:\n%s", want, p)
		}
	}
}

func TestResolveWithoutBase(t *testing.T) {
	api := newFakeAPI(t, text("a\nb\n"))
	c := conflict("notes.txt", "", "a\n", "b\n")
	c.Base, c.Content = nil, fakeContent{ours: []byte("a\n"), theirs: []byte("b\n")}
	res, err := newResolver(t, api).Resolve(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Merged) != "a\nb\n" {
		t.Errorf("Merged = %q", res.Merged)
	}
	p := api.Requests()[0].Prompt()
	if strings.Contains(p, "BEGIN BASE") || !strings.Contains(p, "BASE is unknown") {
		t.Errorf("prompt does not say the base is unknown:\n%s", p)
	}
}

func TestResolveRejectsBadAnswers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer reply
		why    string
	}{
		{"conflict markers", text("{\n<<<<<<< ours\n  \"port\": 8080\n=======\n  \"name\": \"web\"\n>>>>>>> theirs\n}\n"), "conflict markers"},
		{"malformed JSON", text("{\n  \"name\": \"web\",\n  \"port\": 8080,\n}\n"), "not valid JSON"},
		{"declined", text(declined), "contradictory"},
		{"empty", text("  \n"), "empty"},
		{"too large", text(strings.Repeat("x", 2*len(oursJSON)+4097)), "too large"},
		{"cut short", stopped(mergedJSON[:10], "max_tokens"), "cut short"},
		{"refused", stopped("", "refusal"), "refusal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.answer)
			_, err := newResolver(t, api).Resolve(context.Background(), jsonConflict())
			if !errors.Is(err, zerosync.ErrPass) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("err = %v; want a pass saying %q", err, tt.why)
			}
			if n := len(api.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestResolveRetries429(t *testing.T) {
	// No retry-after header: the client waits its own backoff.
	api := newFakeAPI(t, status(http.StatusTooManyRequests), text(mergedJSON))
	res, err := newResolver(t, api).Resolve(context.Background(), jsonConflict())
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Merged) != mergedJSON {
		t.Errorf("Merged = %q", res.Merged)
	}
	reqs := api.Requests()
	if len(reqs) != 2 || reqs[0].Status != http.StatusTooManyRequests || reqs[1].Status != http.StatusOK {
		t.Fatalf("requests answered %v; want 429 then 200", statuses(reqs))
	}
	if reqs[0].Prompt() != reqs[1].Prompt() {
		t.Error("the retry sent another prompt")
	}
}

func TestResolveServerError(t *testing.T) {
	api := newFakeAPI(t, status(http.StatusInternalServerError, "retry-after-ms", "1"))
	_, err := newResolver(t, api, WithMaxRetries(2)).Resolve(context.Background(), jsonConflict())
	if err == nil || errors.Is(err, zerosync.ErrPass) {
		t.Fatalf("err = %v; want a failure, not a pass", err)
	}
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Errorf("err = %v; want an API error with status 500", err)
	}
	if got := statuses(api.Requests()); len(got) != 3 {
		t.Errorf("requests answered %v; want three 500s (two retries)", got)
	}

	// With retries off, one request.
	api = newFakeAPI(t, status(http.StatusServiceUnavailable))
	if _, err := newResolver(t, api, WithMaxRetries(0)).Resolve(context.Background(), jsonConflict()); err == nil {
		t.Fatal("no error")
	}
	if n := len(api.Requests()); n != 1 {
		t.Errorf("%d requests with retries off, want 1", n)
	}
}

func TestResolveTimeout(t *testing.T) {
	api := newFakeAPI(t, hang)
	_, err := newResolver(t, api, WithTimeout(100*time.Millisecond)).Resolve(context.Background(), jsonConflict())
	if !errors.Is(err, zerosync.ErrPass) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want a pass wrapping DeadlineExceeded", err)
	}

	// The caller's deadline counts too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newResolver(t, api).Resolve(ctx, jsonConflict())
	if !errors.Is(err, zerosync.ErrPass) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want a pass wrapping DeadlineExceeded", err)
	}
}

func TestResolveNeverSendsSecrets(t *testing.T) {
	api := newFakeAPI(t, text("merged\n"))
	r := newResolver(t, api)
	for _, path := range []string{
		".env", "app/.env.local", ".envrc", "certs/server.pem", "tls/server.KEY", "home/.ssh/id_ed25519",
		"id_rsa.pub", "store.p12", "store.pfx", ".netrc", ".pgpass", "credentials", "aws/credentials.json",
		"home/.ssh/config", "home/.gnupg/gpg.conf", ".git-credentials",
	} {
		if _, err := r.Resolve(context.Background(), conflict(path, "a\n", "b\n", "c\n")); !errors.Is(err, zerosync.ErrPass) {
			t.Errorf("%s: err = %v, want a pass", path, err)
		}
	}
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
	for name, c := range map[string]zerosync.Conflict{
		"private key in ours":   conflict("notes.txt", "a\n", "a\n"+key, "b\n"),
		"private key in base":   conflict("notes.txt", key, "a\n", "b\n"),
		"rsa key in theirs":     conflict("deploy.txt", "a\n", "b\n", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"),
		"token in theirs":       conflict("notes.txt", "a\n", "b\n", "token: ghp_"+strings.Repeat("a1B2", 9)+"\n"),
		"binary ours":           conflict("data.txt", "a\n", "a\x00b", "c\n"),
		"invalid utf-8 theirs":  conflict("data.txt", "a\n", "b\n", "\xff\xfe"),
		"over the size limit":   conflict("big.txt", "a\n", strings.Repeat("x", DefaultMaxSize+1), "c\n"),
		"pgp private key block": conflict("k.asc", "a\n", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n", "c\n"),
	} {
		if _, err := r.Resolve(context.Background(), c); !errors.Is(err, zerosync.ErrPass) {
			t.Errorf("%s: err = %v, want a pass", name, err)
		}
	}
	if reqs := api.Requests(); len(reqs) != 0 {
		t.Fatalf("%d requests reached the server; want none. First prompt:\n%s", len(reqs), reqs[0].Prompt())
	}
	// The same resolver does send an ordinary file.
	if _, err := r.Resolve(context.Background(), conflict("notes.txt", "a\n", "b\n", "c\n")); err != nil {
		t.Fatal(err)
	}
	if len(api.Requests()) != 1 {
		t.Error("an ordinary file was not sent")
	}
}

func TestResolveOptIn(t *testing.T) {
	api := newFakeAPI(t, text(mergedJSON))
	t.Setenv(APIKeyEnv, "")
	r, err := New(WithBaseURL(api.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(context.Background(), jsonConflict())
	if !errors.Is(err, zerosync.ErrPass) || !strings.Contains(err.Error(), "no API key") {
		t.Errorf("err = %v; want a pass for the missing key", err)
	}
	if n := len(api.Requests()); n != 0 {
		t.Fatalf("%d requests without a key", n)
	}

	t.Setenv(APIKeyEnv, "env-key")
	r, err = New(WithBaseURL(api.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(context.Background(), jsonConflict()); err != nil {
		t.Fatal(err)
	}
	if got := api.Requests()[0].Header.Get("X-Api-Key"); got != "env-key" {
		t.Errorf("x-api-key = %q, want the key from the environment", got)
	}
	if got := api.Requests()[0].Body.Model; got != DefaultModel {
		t.Errorf("model = %q, want %q", got, DefaultModel)
	}
}

func TestResolveNotFiles(t *testing.T) {
	api := newFakeAPI(t, text("x"))
	r := newResolver(t, api)
	c := jsonConflict()
	c.Theirs = nil
	if _, err := r.Resolve(context.Background(), c); !errors.Is(err, zerosync.ErrPass) {
		t.Errorf("deleted side: err = %v, want a pass", err)
	}
	c = jsonConflict()
	c.Ours = &zerosync.Entry{Kind: zerosync.KindDir}
	if _, err := r.Resolve(context.Background(), c); !errors.Is(err, zerosync.ErrPass) {
		t.Errorf("directory: err = %v, want a pass", err)
	}
	if len(api.Requests()) != 0 {
		t.Error("a request was sent")
	}
}

func TestResolveMode(t *testing.T) {
	api := newFakeAPI(t, text(mergedJSON))
	c := jsonConflict()
	c.Theirs.Mode = 0o600
	res, err := newResolver(t, api).Resolve(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != fsMode(0o600) {
		t.Errorf("Mode = %o, want theirs 600", res.Mode)
	}
}

func TestResolveLogsNoContent(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := newFakeAPI(t, text(mergedJSON), text("{"))
	r := newResolver(t, api, WithLogger(log))
	for range 2 { // one merge, one invalid answer
		r.Resolve(context.Background(), jsonConflict())
	}
	r.Resolve(context.Background(), conflict("a.txt", "", "-----BEGIN PRIVATE KEY-----\nsecretbody\n", "x\n"))
	out := logs.String()
	if !strings.Contains(out, "config/app.json") {
		t.Errorf("logs do not name the path:\n%s", out)
	}
	for _, leak := range []string{`"port"`, "8080", "secretbody", "test-key"} {
		if strings.Contains(out, leak) {
			t.Errorf("logs hold %q:\n%s", leak, out)
		}
	}
}

func TestNewOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"empty model":          WithModel(""),
		"zero timeout":         WithTimeout(0),
		"zero size":            WithMaxSize(0),
		"negative retries":     WithMaxRetries(-1),
		"nil logger":           WithLogger(nil),
		"nil base":             WithBase(nil),
		"plain http remote":    WithBaseURL("http://api.example.com/"),
		"ftp":                  WithBaseURL("ftp://127.0.0.1/"),
		"no host":              WithBaseURL("https:///v1"),
		"credentials in URL":   WithBaseURL("https://user:pw@api.example.com/"),
		"unparsable":           WithBaseURL("http://[::1"),
		"http to a private IP": WithBaseURL("http://10.0.0.1:8080/"),
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("%s: New succeeded; want an error", name)
		}
	}
	for _, u := range []string{"https://api.example.com/", "http://127.0.0.1:9/", "http://[::1]:9/", "http://localhost:9/"} {
		if _, err := New(WithBaseURL(u)); err != nil {
			t.Errorf("WithBaseURL(%q): %v", u, err)
		}
	}
}

func statuses(reqs []request) []int {
	var s []int
	for _, r := range reqs {
		s = append(s, r.Status)
	}
	return s
}
