package ai_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/zeebo/blake3"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/merge/ai"
)

// versions is a small ContentReader over fixed bodies, standing in for the
// engine.
type versions map[zerosync.Version]string

func (vs versions) ReadVersion(ctx context.Context, v zerosync.Version, limit int64) ([]byte, error) {
	if int64(len(vs[v])) > limit {
		return nil, zerosync.ErrTooLarge
	}
	return []byte(vs[v]), nil
}

// Both hosts changed the same line of a TOML file, so a line merge cannot
// settle it; the model is asked next. A local server stands in for the
// Messages API here.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"type": "message", "role": "assistant", "stop_reason": "end_turn",
			"content": [{"type": "text", "text": "server = { name = \"web\", port = 8080 }\n"}]}`)
	}))
	defer api.Close()

	model, err := ai.New(ai.WithAPIKey("key"), ai.WithBaseURL(api.URL), ai.WithTimeout(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	diff3, err := merge.Diff3()
	if err != nil {
		fmt.Println(err)
		return
	}
	chain := merge.Chain(merge.Identical(), diff3, model, merge.KeepBoth(zerosync.VersionOurs))

	vs := versions{
		zerosync.VersionBase:   "server = { name = \"app\", port = 80 }\n",
		zerosync.VersionOurs:   "server = { name = \"app\", port = 8080 }\n",
		zerosync.VersionTheirs: "server = { name = \"web\", port = 80 }\n",
	}
	entry := func(v zerosync.Version) *zerosync.Entry {
		return &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(vs[v])),
			Digest: zerosync.Digest(blake3.Sum256([]byte(vs[v])))}
	}
	c := zerosync.Conflict{Path: "app.toml", Base: entry(zerosync.VersionBase), Ours: entry(zerosync.VersionOurs),
		Theirs: entry(zerosync.VersionTheirs), Content: vs}

	res, err := chain.Resolve(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("by %s, for review: %v\n%s", res.By, res.KeepOther, res.Merged)
	// Output:
	// by ai:claude-sonnet-5-5, for review: true
	// server = { name = "web", port = 8080 }
}
