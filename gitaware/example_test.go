package gitaware_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/gitaware"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/transport/local"
)

// exampleRepo makes a repository in dir with go-git, with files committed.
func exampleRepo(dir string, files map[string]string) {
	r, err := git.PlainInit(dir, false)
	if err != nil {
		log.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		log.Fatal(err)
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			log.Fatal(err)
		}
		if _, err := wt.Add(p); err != nil {
			log.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "example", Email: "example@example.invalid", When: time.Now()}
	if _, err := wt.Commit("initial", &git.CommitOptions{Author: sig}); err != nil {
		log.Fatal(err)
	}
}

// Two clones of a repository synced in mode all: the untracked note
// crosses, the build output that .gitignore names does not, and neither
// does anything under .git.
func Example() {
	tmp, err := os.MkdirTemp("", "gitaware-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	laptop, server := filepath.Join(tmp, "laptop"), filepath.Join(tmp, "server")
	exampleRepo(laptop, map[string]string{".gitignore": "build/\n", "main.go": "package main\n"})
	if _, err := git.PlainClone(server, false, &git.CloneOptions{URL: laptop}); err != nil {
		log.Fatal(err)
	}
	os.WriteFile(filepath.Join(laptop, "notes.txt"), []byte("try the cache\n"), 0o644)
	os.MkdirAll(filepath.Join(laptop, "build"), 0o755)
	os.WriteFile(filepath.Join(laptop, "build", "app"), []byte("binary"), 0o755)

	p, err := gitaware.New(gitaware.WithStateDir(filepath.Join(tmp, "state")), gitaware.WithMode(gitaware.ModeAll), gitaware.WithExcludesFile(""))
	if err != nil {
		log.Fatal(err)
	}
	a, _ := local.New(laptop)
	defer a.Close()
	b, _ := local.New(server)
	defer b.Close()
	diff3, err := merge.Diff3(merge.WithBase(p.Base()))
	if err != nil {
		log.Fatal(err)
	}
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: a}, []engine.Peer{{Name: "server", Endpoint: b}},
		engine.WithVolatileState(), engine.WithWatch(false),
		engine.WithView(p.View()),
		engine.WithResolvers(diff3))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	rep, err := e.SyncOnce(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, act := range rep.Applied {
		fmt.Println(act.Side, act.Path)
	}
	st := p.Status()
	fmt.Println(st.Mode, len(st.Repos), st.Held())
	// Output:
	// theirs notes.txt
	// all 1 []
}

// Classes of the paths of a tree.
func ExampleProject_Classify() {
	tmp, err := os.MkdirTemp("", "gitaware-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	exampleRepo(tmp, map[string]string{".gitignore": "*.o\n", "a.c": "int a;\n", "b.c": "int b;\n"})
	os.WriteFile(filepath.Join(tmp, "b.c"), []byte("int b = 1;\n"), 0o644)
	os.WriteFile(filepath.Join(tmp, "a.o"), []byte{0}, 0o644)
	os.WriteFile(filepath.Join(tmp, "TODO"), []byte("more\n"), 0o644)

	ep, err := local.New(tmp)
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()
	snap, _, err := ep.Scan(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	p, err := gitaware.New(gitaware.WithExcludesFile(""))
	if err != nil {
		log.Fatal(err)
	}
	tree, err := p.Classify(context.Background(), tmp, snap)
	if err != nil {
		log.Fatal(err)
	}
	var paths []string
	for path, c := range tree.Classes {
		if c != gitaware.ClassGit {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	for _, path := range paths {
		fmt.Println(path, tree.Classes[path])
	}
	// Output:
	// .gitignore tracked
	// TODO untracked
	// a.c tracked
	// a.o ignored
	// b.c modified
}
