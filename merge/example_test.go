package merge_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/zeebo/blake3"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/merge"
)

// versions is a small ContentReader over fixed bodies, standing in for the
// engine, which reads the versions from both trees and its state.
type versions map[zerosync.Version]string

func (vs versions) ReadVersion(ctx context.Context, v zerosync.Version, limit int64) ([]byte, error) {
	body, ok := vs[v]
	switch {
	case !ok && v == zerosync.VersionBase:
		return nil, zerosync.ErrNoBase
	case !ok:
		return nil, fmt.Errorf("no version %d", v)
	case int64(len(body)) > limit:
		return nil, zerosync.ErrTooLarge
	}
	return []byte(body), nil
}

// conflict builds a file-vs-file conflict from three bodies, as the engine
// would: entries with sizes and BLAKE3 digests.
func conflict(path string, vs versions) zerosync.Conflict {
	entry := func(v zerosync.Version) *zerosync.Entry {
		body := []byte(vs[v])
		return &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(body)),
			Digest: zerosync.Digest(blake3.Sum256(body))}
	}
	return zerosync.Conflict{Path: path, Base: entry(zerosync.VersionBase), Ours: entry(zerosync.VersionOurs),
		Theirs: entry(zerosync.VersionTheirs), Hosts: [2]string{"laptop", "server"}, Content: vs}
}

// Both hosts edited a shell profile since the last sync, on different
// lines: Diff3 merges the two edits.
func ExampleDiff3() {
	c := conflict(".profile", versions{
		zerosync.VersionBase:   "export EDITOR=vi\nexport PAGER=less\numask 022\n",
		zerosync.VersionOurs:   "export EDITOR=nvim\nexport PAGER=less\numask 022\n",
		zerosync.VersionTheirs: "export EDITOR=vi\nexport PAGER=less\numask 077\n",
	})
	diff3, err := merge.Diff3()
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := diff3.Resolve(context.Background(), c)
	if err != nil {
		fmt.Println("not merged:", err)
		return
	}
	fmt.Printf("by %s:\n%s", res.By, res.Merged)
	// Output:
	// by diff3:
	// export EDITOR=nvim
	// export PAGER=less
	// umask 077
}

// Both hosts changed an editor's settings since the last sync, one key
// each, on the same line: Diff3 cannot merge that, Structured can.
func ExampleStructured() {
	c := conflict("settings.json", versions{
		zerosync.VersionBase:   `{"tabSize": 4, "theme": "light"}` + "\n",
		zerosync.VersionOurs:   `{"tabSize": 2, "theme": "light"}` + "\n",
		zerosync.VersionTheirs: `{"tabSize": 4, "theme": "dark", "wordWrap": true}` + "\n",
	})
	structured, err := merge.Structured()
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := structured.Resolve(context.Background(), c)
	if err != nil {
		fmt.Println("not merged:", err)
		return
	}
	fmt.Printf("by %s: %s", res.By, res.Merged)
	// Output:
	// by structured: {"tabSize": 2, "theme": "dark", "wordWrap": true}
}

// A resolver of one's own is a function. This one settles conflicts on
// generated lock files by keeping ours (the other version still becomes a
// conflict copy, because KeepOther is set) and passes on everything else.
// In a chain, whatever it passes on goes to the next resolver.
func Example_customResolver() {
	lockFiles := zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		if !strings.HasSuffix(c.Path, ".lock") {
			return zerosync.Resolution{}, zerosync.ErrPass
		}
		return zerosync.Resolution{Keep: zerosync.VersionOurs, KeepOther: true, By: "lock-files",
			Note: "generated file: ours kept"}, nil
	})
	diff3, err := merge.Diff3()
	if err != nil {
		fmt.Println(err)
		return
	}
	chain := merge.Chain(merge.Identical(), lockFiles, diff3, merge.KeepBoth(zerosync.VersionOurs))

	for _, path := range []string{"deps.lock", "notes.txt"} {
		c := conflict(path, versions{
			zerosync.VersionBase:   "one\ntwo\nthree\n",
			zerosync.VersionOurs:   "one\n2\nthree\n",
			zerosync.VersionTheirs: "one\nzwei\nthree\n",
		})
		res, err := chain.Resolve(context.Background(), c)
		if err != nil {
			fmt.Println(path, "failed:", err)
			continue
		}
		fmt.Printf("%s: %s (%s)\n", path, res.By, res.Note)
	}
	// Output:
	// deps.lock: lock-files (generated file: ours kept)
	// notes.txt: keep-both (both versions kept; review with the review queue)
}

// Route sends each path to the resolver that suits it.
func ExampleRoute() {
	r, err := merge.Route(
		merge.Match("*.log", merge.PreferNewer()),
		merge.Match(".bash_history", merge.Union()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := conflict("home/.bash_history", versions{
		zerosync.VersionBase:   "ls\n",
		zerosync.VersionOurs:   "ls\nmake\n",
		zerosync.VersionTheirs: "ls\ngit pull\n",
	})
	res, err := r.Resolve(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("by %s:\n%s", res.By, res.Merged)
	// Output:
	// by union:
	// ls
	// make
	// git pull
}
