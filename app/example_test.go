package app_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerosync/zerosync/app"
)

// An engine of one's own, outside this module: markdown notes and their
// attachments on every host, drafts left out, rescanned every ten minutes
// beside the watcher. Its program is
//
//	func main() {
//		agent.Handle() // the binary is its own agent on remote hosts
//		notes.Main()
//	}
//
// and it has every shared subcommand: run, once, plan, status, pause,
// resume, conflicts, versions and adopt. Here it syncs two folders once,
// as "notes --root DIR --peer server=DIR once" would.
func Example() {
	notes := &app.App{
		Name:        "notes",
		Summary:     "markdown notes on every host",
		DefaultRoot: "~/notes",
		Include:     []string{"*.md", "/attachments/"},
		Exclude:     []string{"drafts/"},
		Rescan:      10 * time.Minute,
	}

	tmp, _ := os.MkdirTemp("", "notes")
	defer os.RemoveAll(tmp)
	laptop, server := filepath.Join(tmp, "laptop"), filepath.Join(tmp, "server")
	for name, content := range map[string]string{
		"ideas.md": "# ideas\n", "attachments/cat.png": "\x89PNG", "drafts/secret.md": "not yet", "todo.txt": "not a note",
	} {
		os.MkdirAll(filepath.Join(laptop, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(laptop, name), []byte(content), 0o644)
	}
	os.Mkdir(server, 0o755)

	quiet := app.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}
	args := []string{"--root", laptop, "--peer", "server=" + server, "--state", filepath.Join(tmp, "notes.db"), "once"}
	if err := notes.Run(context.Background(), args, quiet); err != nil {
		fmt.Println(err)
		return
	}
	var got []string
	filepath.WalkDir(server, func(p string, d fs.DirEntry, err error) error {
		if d.Type().IsRegular() && !strings.Contains(p, "/.zerosync/") {
			rel, _ := filepath.Rel(server, p)
			got = append(got, rel)
		}
		return nil
	})
	fmt.Println("server has:", strings.Join(got, ", "))
	// Output:
	// server has: attachments/cat.png, ideas.md
}
