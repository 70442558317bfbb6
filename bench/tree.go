package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// treeSpec describes a developer tree: many small source-like files in
// nested folders, some medium files, a few large binaries, symlinks and
// empty folders. The zero value is an empty tree.
type treeSpec struct {
	Small     int   // source-like text files
	SmallMax  int   // largest small file, bytes (sizes are skewed towards small)
	Medium    int   // medium files, half text and half binary
	MediumMin int   // bytes
	MediumMax int   // bytes
	Large     int   // large binaries (incompressible)
	LargeSize int64 // bytes each
	Symlinks  int   // relative links to files and folders, one dangling
	EmptyDirs int   // folders with nothing in them
	// FilesPerDir is the average number of small files in a folder.
	FilesPerDir int
}

// treeStats is what a generated tree holds.
type treeStats struct {
	Files, Dirs, Symlinks int
	Bytes                 int64
	// Small lists the small text files (slash paths), the ones the edit
	// workloads change.
	Small []string
	// Large lists the large binaries.
	Large []string
}

// Entries is the number of paths in the tree.
func (s treeStats) Entries() int { return s.Files + s.Dirs + s.Symlinks }

// String describes the tree for the report.
func (s treeStats) String() string {
	return fmt.Sprintf("%s files, %s folders, %d symlinks, %s", thousands(s.Files), thousands(s.Dirs), s.Symlinks, fmtBytes(float64(s.Bytes)))
}

// genEpoch is the modification time of every generated file, so that two
// trees made from one seed are identical down to their times and old enough
// for every stat cache to trust.
var genEpoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// generate writes the tree spec describes, from seed, into root (created
// if missing, and expected to be empty). The same spec and seed always give
// the same paths, bytes, modes, link targets and modification times.
func generate(root string, spec treeSpec, seed uint64) (treeStats, error) {
	var st treeStats
	if err := os.MkdirAll(root, 0o755); err != nil {
		return st, err
	}
	g := &generator{root: root, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var cs [32]byte
	for i := range cs {
		cs[i] = byte(g.rng.Uint32())
	}
	g.bytes = rand.NewChaCha8(cs)
	g.corpus = makeCorpus(g.rng, 1<<20)

	// Folders first: a nested hierarchy sized for the small files.
	perDir := max(spec.FilesPerDir, 1)
	nDirs := max(1, spec.Small/perDir)
	dirs := []string{""}
	tops := []string{"cmd", "internal", "pkg", "docs", "web", "scripts", "test", "tools"}
	for i := range nDirs {
		var d string
		if i < len(tops) {
			d = tops[i]
		} else {
			parent := dirs[1+g.rng.IntN(len(dirs)-1)]
			for strings.Count(parent, "/") >= 4 {
				parent = pathDir(parent)
			}
			d = fmt.Sprintf("%s/%s%d", parent, words[g.rng.IntN(len(words))], i)
		}
		dirs = append(dirs, d)
	}
	dirs = dirs[1:]
	for _, d := range dirs {
		if err := os.MkdirAll(g.abs(d), 0o755); err != nil {
			return st, err
		}
	}
	st.Dirs = len(dirs)

	exts := []string{".go", ".go", ".go", ".c", ".h", ".py", ".js", ".md", ".txt", ".json", ".yaml", ".sh"}
	var files []string
	for i := range spec.Small {
		d := dirs[g.rng.IntN(len(dirs))]
		ext := exts[g.rng.IntN(len(exts))]
		p := fmt.Sprintf("%s/%s_%d%s", d, words[g.rng.IntN(len(words))], i, ext)
		// Skewed sizes: most files are a few KiB, a few reach SmallMax.
		max := max(spec.SmallMax, 64)
		size := 64 + int(float64(max-64)*pow4(g.rng.Float64()))
		mode := fs.FileMode(0o644)
		switch {
		case ext == ".sh":
			mode = 0o755
		case i%97 == 0:
			mode = 0o600
		}
		n, err := g.textFile(p, size, mode)
		if err != nil {
			return st, err
		}
		st.Bytes += n
		st.Small = append(st.Small, p)
		files = append(files, p)
	}

	if spec.Medium > 0 {
		for _, d := range []string{"assets", "testdata"} {
			if err := os.MkdirAll(g.abs(d), 0o755); err != nil {
				return st, err
			}
			st.Dirs++
		}
	}
	for i := range spec.Medium {
		size := spec.MediumMin + g.rng.IntN(max(1, spec.MediumMax-spec.MediumMin))
		var p string
		var n int64
		var err error
		if i%2 == 0 {
			p = fmt.Sprintf("testdata/%s_%d.json", words[g.rng.IntN(len(words))], i)
			n, err = g.textFile(p, size, 0o644)
		} else {
			p = fmt.Sprintf("assets/%s_%d.png", words[g.rng.IntN(len(words))], i)
			n, err = g.binaryFile(p, int64(size), 0o644)
		}
		if err != nil {
			return st, err
		}
		st.Bytes += n
		files = append(files, p)
	}

	if spec.Large > 0 {
		if err := os.MkdirAll(g.abs("bin"), 0o755); err != nil {
			return st, err
		}
		st.Dirs++
	}
	for i := range spec.Large {
		p := fmt.Sprintf("bin/%s_%d.bin", words[g.rng.IntN(len(words))], i)
		n, err := g.binaryFile(p, spec.LargeSize, 0o755)
		if err != nil {
			return st, err
		}
		st.Bytes += n
		st.Large = append(st.Large, p)
		files = append(files, p)
	}

	for i := range spec.EmptyDirs {
		d := fmt.Sprintf("%s/empty_%d", dirs[g.rng.IntN(len(dirs))], i)
		if err := os.Mkdir(g.abs(d), 0o755); err != nil {
			return st, err
		}
		st.Dirs++
	}

	for i := range spec.Symlinks {
		var from, target string
		switch {
		case i == 0:
			from, target = fmt.Sprintf("%s/dangling_%d", dirs[0], i), "no/such/file"
		case i%5 == 0 && len(dirs) > 1:
			d := dirs[g.rng.IntN(len(dirs))]
			from = fmt.Sprintf("link_dir_%d", i)
			target = d
		default:
			if len(files) == 0 {
				continue
			}
			f := files[g.rng.IntN(len(files))]
			from = fmt.Sprintf("%s/link_%d", pathDir(f), i)
			target = pathBase(f)
			if from[0] == '/' {
				from = from[1:]
			}
		}
		if err := os.Symlink(target, g.abs(from)); err != nil {
			return st, err
		}
		st.Symlinks++
	}
	st.Files = len(files)

	// Folder times last: making their content moved them.
	for _, d := range dirs {
		if err := os.Chtimes(g.abs(d), genEpoch, genEpoch); err != nil {
			return st, err
		}
	}
	return st, nil
}

type generator struct {
	root   string
	rng    *rand.Rand
	bytes  *rand.ChaCha8
	corpus []byte
	buf    []byte
}

func (g *generator) abs(p string) string { return filepath.Join(g.root, filepath.FromSlash(p)) }

// textFile writes a source-like file: a header naming the path, then a
// window of the corpus, so files compress like code but all differ.
func (g *generator) textFile(p string, size int, mode fs.FileMode) (int64, error) {
	g.buf = g.buf[:0]
	g.buf = fmt.Appendf(g.buf, "// %s\n// generated %d\n", p, g.rng.Uint64())
	for len(g.buf) < size {
		off := g.rng.IntN(len(g.corpus) - 4096)
		g.buf = append(g.buf, g.corpus[off:off+min(4096, size-len(g.buf))]...)
	}
	if len(g.buf) > size {
		g.buf = g.buf[:size]
	}
	return g.write(p, g.buf, mode)
}

// binaryFile writes size incompressible bytes.
func (g *generator) binaryFile(p string, size int64, mode fs.FileMode) (int64, error) {
	f, err := os.OpenFile(g.abs(p), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		_, _ = g.bytes.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return 0, err
		}
		left -= n
	}
	if err := errors.Join(f.Chmod(mode), f.Close()); err != nil {
		return 0, err
	}
	return size, os.Chtimes(g.abs(p), genEpoch, genEpoch)
}

func (g *generator) write(p string, b []byte, mode fs.FileMode) (int64, error) {
	f, err := os.OpenFile(g.abs(p), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	_, err = f.Write(b)
	if err := errors.Join(err, f.Chmod(mode), f.Close()); err != nil {
		return 0, err
	}
	return int64(len(b)), os.Chtimes(g.abs(p), genEpoch, genEpoch)
}

// makeCorpus returns n bytes of code-like text: indented lines of words,
// brackets and numbers.
func makeCorpus(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 128)
	for b.Len() < n {
		depth := rng.IntN(4)
		b.WriteString(strings.Repeat("\t", depth))
		switch rng.IntN(6) {
		case 0:
			fmt.Fprintf(&b, "func %s%s(%s int) error {\n", words[rng.IntN(len(words))], strings.ToUpper(words[rng.IntN(len(words))][:1]), words[rng.IntN(len(words))])
		case 1:
			fmt.Fprintf(&b, "// %s %s %s the %s.\n", words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))])
		case 2:
			fmt.Fprintf(&b, "if %s != nil {\n", words[rng.IntN(len(words))])
		case 3:
			b.WriteString("}\n")
		default:
			fmt.Fprintf(&b, "%s := %s(%d, %q)\n", words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(100000), words[rng.IntN(len(words))])
		}
	}
	return b.Bytes()[:n]
}

// pow4 skews a uniform [0,1) towards 0.
func pow4(x float64) float64 { return x * x * x * x }

func pathDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func pathBase(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

var words = []string{
	"alpha", "buffer", "cache", "delta", "engine", "filter", "graph", "handler", "index", "journal",
	"kernel", "loader", "mapper", "node", "option", "parser", "queue", "router", "store", "token",
	"update", "vector", "worker", "yield", "zone", "agent", "batch", "client", "digest", "event",
	"frame", "group", "hint", "input", "join", "key", "limit", "merge", "notify", "output",
	"peer", "query", "reader", "scan", "tree", "union", "view", "watch", "config", "server",
}
