// Package memory is an in-process [zerosync.Endpoint]: a whole tree held in
// memory. It is a complete implementation, not a mock: engines, examples and
// users' own tests run on it exactly as on a directory, with the same rules
// (atomic apply, re-check before replace, confinement, archiving).
//
// Besides the Endpoint methods, an Endpoint offers the edits a person makes
// behind the engine's back ([Endpoint.WriteFile], [Endpoint.Remove], ...);
// those edits, and only those, wake a running watcher.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

var (
	_ zerosync.Endpoint      = (*Endpoint)(nil)
	_ zerosync.Copier        = (*Endpoint)(nil)
	_ zerosync.Archiver      = (*Endpoint)(nil)
	_ zerosync.ConflictStore = (*Endpoint)(nil)
	_ zerosync.PathScanner   = (*Endpoint)(nil)
	_ zerosync.Watcher       = (*Endpoint)(nil)
	_ zerosync.Identifier    = (*Endpoint)(nil)
	_ zerosync.Locator       = (*Endpoint)(nil)
	_ zerosync.Versioner     = (*Endpoint)(nil)
)

// Endpoint is an in-memory tree, or one handle on a tree shared with other
// handles ([Endpoint.Handle]). The zero value is not usable; call [New]. All
// methods are safe for concurrent use.
type Endpoint struct {
	*shared
	name   string
	id     int // which handle: writes through it do not wake its own watchers
	closed bool
}

// shared is the tree behind every handle.
type shared struct {
	mu       sync.Mutex
	nodes    map[string]*node
	archive  []Archived
	archived int // versions archived so far: the next ID
	keep     zerosync.Retention
	missing  bool
	replica  string // the marker's replica ID; "" when unmarked
	fsgen    int    // bumped when the root is replaced by another tree
	clock    time.Time
	watchers map[int]watcher
	nextW    int
	handles  int
}

type watcher struct {
	owner  int
	notify func(zerosync.Hint)
}

// person is the owner of edits made through the person-side methods: they
// wake every watcher.
const person = -1

type node struct {
	e    zerosync.Entry
	data []byte
}

// Archived is content the endpoint kept before replacing or removing it, or
// a conflict copy it was asked to keep: a version of the file at Path.
type Archived struct {
	// ID is the version's ID ([zerosync.FileVersion]): "v1", "v2", ...
	ID      string
	Path    string
	Time    time.Time
	Data    []byte
	Digest  zerosync.Digest
	Mode    fs.FileMode
	Reason  zerosync.ArchiveReason
	Note    string
	Symlink string // target, when a symlink was kept
}

// Option configures an Endpoint.
type Option func(*Endpoint)

// WithName names the endpoint in errors and logs.
func WithName(name string) Option { return func(e *Endpoint) { e.name = name } }

// WithClock sets the start of the endpoint's logical clock, used for
// modification times and archive times; each edit advances it by a
// millisecond, and [Endpoint.Advance] by more.
func WithClock(t time.Time) Option { return func(e *Endpoint) { e.shared.clock = t } }

// WithRetention sets how long the archive keeps versions; the default is
// [zerosync.DefaultRetention], measured on the logical clock. The endpoint
// prunes after each archiving (holding conflicts, as
// [zerosync.Versioner] says) and on [Endpoint.PruneVersions]; a retention
// that fails [zerosync.Retention.Check] makes pruning an error and is
// never applied.
func WithRetention(r zerosync.Retention) Option { return func(e *Endpoint) { e.shared.keep = r } }

// New returns an empty tree.
func New(opts ...Option) *Endpoint {
	e := &Endpoint{
		name: "memory",
		shared: &shared{
			nodes:    map[string]*node{},
			clock:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			keep:     zerosync.DefaultRetention(),
			watchers: map[int]watcher{},
			handles:  1,
		},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Handle returns another endpoint on the same tree, as a second process
// opening the same directory: what one handle applies wakes the watchers of
// the others, never its own.
func (m *Endpoint) Handle() *Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.handles
	m.handles++
	return &Endpoint{shared: m.shared, name: m.name, id: id}
}

// Name returns the endpoint's name.
func (m *Endpoint) Name() string { return m.name }

func (m *Endpoint) now() time.Time {
	m.clock = m.clock.Add(time.Millisecond)
	return m.clock
}

func (m *Endpoint) perr(op, p string, err error) error {
	return &zerosync.PathError{Op: op, Host: m.name, Path: p, Err: err}
}

// Scan returns a copy of the tree.
func (m *Endpoint) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing {
		return nil, nil, m.perr("scan", ".", zerosync.ErrRootMissing)
	}
	s := make(zerosync.Snapshot, len(m.nodes))
	for p, n := range m.nodes {
		if !zerosync.IsReserved(p) {
			s[p] = n.e
		}
	}
	return s, nil, nil
}

// ScanPaths returns the entries at and beneath paths.
func (m *Endpoint) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing {
		return nil, nil, m.perr("scan", ".", zerosync.ErrRootMissing)
	}
	s := zerosync.Snapshot{}
	for _, p := range paths {
		if err := zerosync.CheckPath(p); err != nil {
			return nil, nil, m.perr("scan", p, err)
		}
		n, ok := m.nodes[p]
		if !ok {
			continue
		}
		s[p] = n.e
		if n.e.Kind == zerosync.KindDir {
			prefix := p + "/"
			for q, c := range m.nodes {
				if strings.HasPrefix(q, prefix) && !zerosync.IsReserved(q) {
					s[q] = c.e
				}
			}
		}
	}
	return s, nil, nil
}

// Open returns the content of a file.
func (m *Endpoint) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := zerosync.CheckPath(p); err != nil {
		return nil, m.perr("open", p, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing {
		return nil, m.perr("open", p, zerosync.ErrRootMissing)
	}
	n, ok := m.nodes[p]
	if !ok {
		return nil, m.perr("open", p, fs.ErrNotExist)
	}
	if n.e.Kind != zerosync.KindFile {
		return nil, m.perr("open", p, fmt.Errorf("is a %s, not a file", n.e.Kind))
	}
	return io.NopCloser(bytes.NewReader(n.data)), nil
}

// Apply changes one path atomically; see [zerosync.Endpoint].
func (m *Endpoint) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := zerosync.CheckPath(op.Path); err != nil {
		return m.perr("apply", op.Path, err)
	}
	var data []byte
	if op.New != nil && op.New.Kind == zerosync.KindFile {
		if content == nil {
			return m.perr("apply", op.Path, fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch))
		}
		var err error
		if data, err = readExactly(content, op.New); err != nil {
			return m.perr("apply", op.Path, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return m.perr("apply", op.Path, err)
	}
	return m.commit(op, data)
}

// readExactly reads want.Size bytes, refusing more, and checks the digest.
func readExactly(r io.Reader, want *zerosync.Entry) ([]byte, error) {
	if want.Size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", zerosync.ErrDigestMismatch, want.Size)
	}
	var buf bytes.Buffer
	if want.Size < 64<<20 {
		buf.Grow(int(want.Size))
	}
	n, err := io.Copy(&buf, io.LimitReader(r, want.Size+1))
	if err != nil {
		return nil, err
	}
	if n != want.Size {
		return nil, fmt.Errorf("%w: got %d bytes, want %d", zerosync.ErrDigestMismatch, n, want.Size)
	}
	if d := digest.Sum(buf.Bytes()); d != want.Digest {
		return nil, fmt.Errorf("%w: got %s, want %s", zerosync.ErrDigestMismatch, d.Short(), want.Digest.Short())
	}
	return buf.Bytes(), nil
}

func (m *Endpoint) commit(op zerosync.Op, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing {
		return m.perr("apply", op.Path, zerosync.ErrRootMissing)
	}
	if m.closed {
		return m.perr("apply", op.Path, fs.ErrClosed)
	}
	cur := m.nodes[op.Path]
	var curE *zerosync.Entry
	if cur != nil {
		curE = &cur.e
	}
	if !curE.Same(op.Old) {
		return m.perr("apply", op.Path, fmt.Errorf("%w: expected %s, found %s", zerosync.ErrChanged, op.Old, curE))
	}
	if op.New != nil {
		if dir := zerosync.Parent(op.Path); dir != "" {
			pn, ok := m.nodes[dir]
			if !ok || pn.e.Kind != zerosync.KindDir {
				return m.perr("apply", op.Path, fmt.Errorf("parent %q is not a directory", dir))
			}
		}
	}
	if cur != nil && (op.New == nil || op.New.Kind != cur.e.Kind) && cur.e.Kind == zerosync.KindDir && m.hasChildren(op.Path) {
		return m.perr("apply", op.Path, fmt.Errorf("directory not empty"))
	}
	if cur != nil && op.Archive && cur.e.Kind != zerosync.KindDir {
		reason := zerosync.ReasonReplaced
		if op.New == nil {
			reason = zerosync.ReasonRemoved
		}
		m.keepVersion(op.Path, cur, reason, string(reason))
	}
	if cur != nil && cur.e.Kind == zerosync.KindDir && (op.New == nil || op.New.Kind != zerosync.KindDir) {
		// Conflict copies were archived when they were made.
		prefix := op.Path + "/"
		for q := range m.nodes {
			if strings.HasPrefix(q, prefix) {
				delete(m.nodes, q)
			}
		}
	}
	defer m.touchedBy(m.id, op.Path)
	if op.New == nil {
		delete(m.nodes, op.Path)
		return nil
	}
	e := *op.New
	if e.ModTime.IsZero() {
		e.ModTime = m.now()
	}
	e.Mode = e.Mode.Perm()
	if e.Kind != zerosync.KindFile {
		e.Size, e.Digest, data = 0, zerosync.Digest{}, nil
	}
	m.nodes[op.Path] = &node{e: e, data: data}
	return nil
}

// keepVersion archives n as a version of p, then prunes; m.mu is held.
func (m *Endpoint) keepVersion(p string, n *node, reason zerosync.ArchiveReason, note string) {
	m.archived++
	a := Archived{ID: fmt.Sprintf("v%d", m.archived), Path: p, Time: m.now(), Reason: reason, Note: note}
	if n.e.Kind == zerosync.KindSymlink {
		a.Symlink = n.e.Target
	} else {
		a.Data, a.Digest, a.Mode = n.data, n.e.Digest, n.e.Mode.Perm()
	}
	m.archive = append(m.archive, a)
	m.prune(func(v zerosync.FileVersion) bool { return v.Reason == zerosync.ReasonConflict })
}

// hasChildren reports whether dir holds anything but conflict copies.
func (m *Endpoint) hasChildren(dir string) bool {
	prefix := dir + "/"
	for p := range m.nodes {
		if strings.HasPrefix(p, prefix) && !strings.Contains(p[len(prefix):], zerosync.ConflictMarker) {
			return true
		}
	}
	return false
}

// Copy makes op.Path from the file at src without moving bytes.
func (m *Endpoint) Copy(ctx context.Context, src string, op zerosync.Op) error {
	if err := zerosync.CheckPath(src); err != nil {
		return m.perr("copy", src, err)
	}
	if op.New == nil || op.New.Kind != zerosync.KindFile {
		return m.perr("copy", op.Path, fmt.Errorf("copy makes files only"))
	}
	m.mu.Lock()
	n, ok := m.nodes[src]
	var data []byte
	if ok && n.e.Kind == zerosync.KindFile {
		data = n.data
	}
	m.mu.Unlock()
	if data == nil && (!ok || n.e.Kind != zerosync.KindFile) {
		return m.perr("copy", src, fs.ErrNotExist)
	}
	return m.Apply(ctx, op, bytes.NewReader(data))
}

// KeepConflict stores content as a conflict copy next to p and in the
// archive. The copy is a reserved name, so it is never synced.
func (m *Endpoint) KeepConflict(ctx context.Context, p string, e zerosync.Entry, content io.Reader, note string) (string, error) {
	if err := zerosync.CheckPath(p); err != nil {
		return "", m.perr("keep", p, err)
	}
	var data []byte
	if e.Kind == zerosync.KindFile {
		var err error
		if data, err = readExactly(content, &e); err != nil {
			return "", m.perr("keep", p, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := ConflictName(p, m.now(), note)
	n := &node{e: e, data: data}
	m.keepVersion(p, n, zerosync.ReasonConflict, "conflict: "+note)
	m.nodes[cp] = n
	return cp, nil
}

// conflictCopy checks that cp names a conflict copy the endpoint holds.
func (m *Endpoint) conflictCopy(cp string) (*node, error) {
	if err := zerosync.ValidPath(cp); err != nil {
		return nil, m.perr("conflict", cp, err)
	}
	base := cp[strings.LastIndexByte(cp, '/')+1:]
	if !strings.Contains(base, zerosync.ConflictMarker) || zerosync.IsReserved(zerosync.Parent(cp)) {
		return nil, m.perr("conflict", cp, fmt.Errorf("%w: not a conflict copy", zerosync.ErrInvalidPath))
	}
	return m.nodes[cp], nil
}

// OpenConflict returns the content of a conflict copy.
func (m *Endpoint) OpenConflict(ctx context.Context, cp string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.conflictCopy(cp)
	if err != nil {
		return nil, err
	}
	if n == nil || n.e.Kind != zerosync.KindFile {
		return nil, m.perr("conflict", cp, fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(n.data)), nil
}

// RemoveConflict removes a conflict copy.
func (m *Endpoint) RemoveConflict(ctx context.Context, cp string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.conflictCopy(cp); err != nil {
		return err
	}
	delete(m.nodes, cp)
	return nil
}

// ConflictName returns the name of a conflict copy of p: the base name, the
// conflict marker, a UTC stamp and a note, and the original extension, so
// editors still recognise the file.
func ConflictName(p string, t time.Time, note string) string {
	dir, base := path.Split(p)
	ext := path.Ext(base)
	if ext == base {
		ext = ""
	}
	stem := strings.TrimSuffix(base, ext)
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, note)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return dir + stem + zerosync.ConflictMarker + t.UTC().Format("20060102-150405.000") + "-" + clean + ext
}

// Watch notifies of edits made through the person-side methods
// ([Endpoint.WriteFile] and friends) and of changes applied through other
// handles, never of this handle's own Apply. notify is called
// synchronously from the editing goroutine, under the endpoint's lock, so
// when an edit returns its hint has been delivered; notify must not call
// back into the endpoint.
func (m *Endpoint) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	m.mu.Lock()
	id := m.nextW
	m.nextW++
	m.watchers[id] = watcher{owner: m.id, notify: notify}
	notify(zerosync.Hint{Full: true, Reason: "ready"})
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	delete(m.watchers, id)
	m.mu.Unlock()
	return ctx.Err()
}

// Close marks the endpoint closed; later applies fail.
func (m *Endpoint) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

// touched tells watchers about a change made by owner (a handle, or
// person); m.mu is held.
func (m *Endpoint) touched(paths ...string) { m.touchedBy(person, paths...) }

func (m *Endpoint) touchedBy(owner int, paths ...string) {
	for _, w := range m.watchers {
		if owner == person || w.owner != owner {
			w.notify(zerosync.Hint{Paths: paths, Reason: "watch"})
		}
	}
}

// WriteFile writes a file as a person would, creating parents.
func (m *Endpoint) WriteFile(p string, data []byte, mode fs.FileMode) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mkdirAll(zerosync.Parent(p)); err != nil {
		return err
	}
	if n, ok := m.nodes[p]; ok && n.e.Kind == zerosync.KindDir {
		return m.perr("write", p, fmt.Errorf("is a directory"))
	}
	data = slices.Clone(data)
	m.nodes[p] = &node{e: zerosync.Entry{Kind: zerosync.KindFile, Mode: mode.Perm(), Size: int64(len(data)), ModTime: m.now(), Digest: digest.Sum(data)}, data: data}
	m.touched(p)
	return nil
}

// Mkdir creates a directory and its parents, as mkdir -p.
func (m *Endpoint) Mkdir(p string, mode fs.FileMode) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mkdirAll(zerosync.Parent(p)); err != nil {
		return err
	}
	if n, ok := m.nodes[p]; ok {
		if n.e.Kind != zerosync.KindDir {
			return m.perr("mkdir", p, fs.ErrExist)
		}
		return nil
	}
	m.nodes[p] = &node{e: zerosync.Entry{Kind: zerosync.KindDir, Mode: mode.Perm(), ModTime: m.now()}}
	m.touched(p)
	return nil
}

func (m *Endpoint) mkdirAll(dir string) error {
	if dir == "" {
		return nil
	}
	if n, ok := m.nodes[dir]; ok {
		if n.e.Kind != zerosync.KindDir {
			return m.perr("mkdir", dir, fmt.Errorf("is a %s", n.e.Kind))
		}
		return nil
	}
	if err := m.mkdirAll(zerosync.Parent(dir)); err != nil {
		return err
	}
	m.nodes[dir] = &node{e: zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: m.now()}}
	m.touched(dir)
	return nil
}

// Symlink creates a symlink at p pointing at target, creating parents.
func (m *Endpoint) Symlink(target, p string) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mkdirAll(zerosync.Parent(p)); err != nil {
		return err
	}
	if _, ok := m.nodes[p]; ok {
		return m.perr("symlink", p, fs.ErrExist)
	}
	m.nodes[p] = &node{e: zerosync.Entry{Kind: zerosync.KindSymlink, Target: target, ModTime: m.now()}}
	m.touched(p)
	return nil
}

// Remove removes p and everything beneath it, as rm -rf. A missing path is
// not an error.
func (m *Endpoint) Remove(p string) error {
	if err := zerosync.ValidPath(p); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.nodes, p)
	prefix := p + "/"
	for q := range m.nodes {
		if strings.HasPrefix(q, prefix) {
			delete(m.nodes, q)
		}
	}
	m.touched(p)
	return nil
}

// Rename moves a file, link or directory (with its contents), as mv. The
// destination must not exist; its parents are created.
func (m *Endpoint) Rename(from, to string) error {
	if err := zerosync.ValidPath(from); err != nil {
		return err
	}
	if err := zerosync.ValidPath(to); err != nil {
		return err
	}
	if to == from || strings.HasPrefix(to, from+"/") {
		return m.perr("rename", to, fmt.Errorf("cannot move %q into itself", from))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[from]
	if !ok {
		return m.perr("rename", from, fs.ErrNotExist)
	}
	if _, ok := m.nodes[to]; ok {
		return m.perr("rename", to, fs.ErrExist)
	}
	if err := m.mkdirAll(zerosync.Parent(to)); err != nil {
		return err
	}
	moved := map[string]*node{to: n}
	prefix := from + "/"
	for q, c := range m.nodes {
		if strings.HasPrefix(q, prefix) {
			moved[to+"/"+q[len(prefix):]] = c
			delete(m.nodes, q)
		}
	}
	delete(m.nodes, from)
	maps.Copy(m.nodes, moved)
	m.touched(from, to)
	return nil
}

// Chmod changes the permission bits of a file or directory.
func (m *Endpoint) Chmod(p string, mode fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	if !ok || n.e.Kind == zerosync.KindSymlink {
		return m.perr("chmod", p, fs.ErrNotExist)
	}
	c := *n
	c.e.Mode = mode.Perm()
	m.nodes[p] = &c
	m.touched(p)
	return nil
}

// ReadFile returns a file's content.
func (m *Endpoint) ReadFile(p string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	if !ok || n.e.Kind != zerosync.KindFile {
		return nil, m.perr("read", p, fs.ErrNotExist)
	}
	return slices.Clone(n.data), nil
}

// Lstat returns the entry at p, or nil when p is absent.
func (m *Endpoint) Lstat(p string) *zerosync.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.nodes[p]; ok {
		e := n.e
		return &e
	}
	return nil
}

// SetMissing makes the root vanish (true), as an unmounted disk, or come
// back (false) with its content intact.
func (m *Endpoint) SetMissing(missing bool) {
	m.mu.Lock()
	m.missing = missing
	m.mu.Unlock()
}

// ReplaceRoot replaces the tree with another one, as a fresh file system
// mounted over the root: every entry, the archive and the marker are gone,
// and the root's file system identity changes. paths are created as empty
// directories in the new tree (e.g. "lost+found").
func (m *Endpoint) ReplaceRoot(paths ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes = map[string]*node{}
	m.archive = nil
	m.replica = ""
	m.fsgen++
	for _, p := range paths {
		m.nodes[p] = &node{e: zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o700, ModTime: m.now()}}
	}
	for _, w := range m.watchers {
		w.notify(zerosync.Hint{Full: true, Reason: "watch"})
	}
}

// Location names the tree: host "memory", and a path unique to the tree
// (shared by its handles).
func (m *Endpoint) Location() zerosync.Location {
	return zerosync.Location{Host: "memory", Path: fmt.Sprintf("/%p", m.shared)}
}

// RootID returns the tree's identity.
func (m *Endpoint) RootID(ctx context.Context) (zerosync.RootID, error) {
	if err := ctx.Err(); err != nil {
		return zerosync.RootID{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rootID()
}

// MarkRoot gives the tree a replica ID when it has none.
func (m *Endpoint) MarkRoot(ctx context.Context) (zerosync.RootID, error) {
	if err := ctx.Err(); err != nil {
		return zerosync.RootID{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing {
		return zerosync.RootID{}, m.perr("mark", ".", zerosync.ErrRootMissing)
	}
	if m.replica == "" {
		m.replica = zerosync.NewReplicaID()
	}
	return m.rootID()
}

func (m *Endpoint) rootID() (zerosync.RootID, error) {
	if m.missing {
		return zerosync.RootID{}, m.perr("identify", ".", zerosync.ErrRootMissing)
	}
	return zerosync.RootID{Replica: m.replica, Filesystem: fmt.Sprintf("memory:%p/%d", m.shared, m.fsgen)}, nil
}

// Archive returns what the endpoint archived, oldest first.
func (m *Endpoint) Archive() []Archived {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.archive)
}

// Contents returns every file's content and every symlink's target
// ("-> target"), by path; directories map to "/". Conflict copies are left
// out. It is meant for comparing trees in tests.
func (m *Endpoint) Contents() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.nodes))
	for p, n := range m.nodes {
		if zerosync.IsReserved(p) {
			continue
		}
		switch n.e.Kind {
		case zerosync.KindFile:
			out[p] = string(n.data)
		case zerosync.KindDir:
			out[p] = "/"
		case zerosync.KindSymlink:
			out[p] = "-> " + n.e.Target
		}
	}
	return out
}
