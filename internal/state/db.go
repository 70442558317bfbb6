package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"
)

// formatVersion is the layout of buckets this package writes. [Open]
// refuses a file with another layout, so an older binary never misreads a
// newer file.
const formatVersion = "1"

// initialMmap is the size of the database's first memory mapping (it grows
// by doubling past it), address space only: 1 GiB on 64-bit systems, enough
// for the state of a large tree and the ancestor bodies of its text files
// (a first sync of 10,000 source files stores about 100 MB of them, and
// each remapping on the way copied every node of the transaction), 64 MiB
// where address space is short.
const initialMmap = 64<<20 + (1<<30-64<<20)*(strconv.IntSize/64)

// growStep is how far past its last page the database file grows when it
// must grow.
const growStep = 64 << 10

// Names of the top-level buckets and keys.
var (
	bucketMeta  = []byte("zerosync") // database-wide metadata
	bucketPairs = []byte("pairs")    // one nested bucket per pair
	keyFormat   = []byte("format")
)

// DB is one state database file, holding the state of any number of pairs.
// It is safe for concurrent use; writes are serialised, reads run in
// parallel with them.
type DB struct {
	bolt *bbolt.DB
	log  *slog.Logger
	path string
}

// Open opens the state database at path, creating it (mode 0600) and its
// parent directories (mode 0700) when they are missing. Only one open
// handle may hold a file at a time, even within one process: when another
// holds it for longer than the lock timeout (see [WithLockTimeout]), Open
// fails with an error wrapping [ErrLocked] instead of waiting forever. A
// file that is not a state database is an error wrapping [ErrCorrupt] or
// [ErrFormat].
func Open(path string, opts ...Option) (*DB, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("state: open: %w", err)
		}
	}
	if path == "" {
		return nil, fmt.Errorf("state: open: %w: empty path", ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: open: %w", err)
	}
	// bbolt maps the file and faults (SIGBUS) on pages a truncated file
	// lacks: check the file's own account of its size first.
	if err := precheck(path); err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      cfg.lockTimeout,
		FreelistType: bbolt.FreelistMapType,
		// Each growth of the mapping copies every node of the open write
		// transaction out of the old one: a first commit of 10,000 entries
		// spent a sixth of an initial sync's CPU on it. Address space
		// only: the file grows by growStep past what it holds (below).
		InitialMmapSize: initialMmap,
	})
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("state: open %s: %w after %v", path, ErrLocked, cfg.lockTimeout)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	default:
		// Everything else bbolt reports is about the file's content:
		// invalid meta pages, a bad checksum, a truncated file.
		return nil, fmt.Errorf("state: open %s: %w: %w", path, ErrCorrupt, err)
	}
	// With a mapping larger than the default growth step, bbolt grows the
	// file by the step past the pages it needs; keep that small, so that
	// the file stays about the size of what it holds.
	b.AllocSize = growStep
	db := &DB{bolt: b, log: cfg.log.With("db", path), path: path}
	if err := db.guard(db.init); err != nil {
		b.Close()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	db.log.Debug("state opened")
	return db, nil
}

// init creates the top-level buckets of a new file and checks the format of
// an existing one. A bbolt file of some other program is left untouched. A
// file that has them is only read: a write transaction commits, with two
// fdatasyncs, even when it changes nothing.
func (db *DB) init() error {
	ready := false
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		if f := m.Get(keyFormat); string(f) != formatVersion {
			return fmt.Errorf("%w %q (this version reads %q)", ErrFormat, f, formatVersion)
		}
		ready = tx.Bucket(bucketPairs) != nil
		return nil
	})
	if err != nil || ready {
		return err
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			if k, _ := tx.Cursor().First(); k != nil {
				return fmt.Errorf("%w: a bbolt file of another program (it has bucket %q)", ErrFormat, k)
			}
			var err error
			if m, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if err := m.Put(keyFormat, []byte(formatVersion)); err != nil {
				return err
			}
		}
		if f := m.Get(keyFormat); string(f) != formatVersion {
			return fmt.Errorf("%w %q (this version reads %q)", ErrFormat, f, formatVersion)
		}
		_, err := tx.CreateBucketIfNotExists(bucketPairs)
		return err
	})
}

// Close releases the file and its lock, waiting for transactions under way
// to finish. Calls after Close fail with an error wrapping [ErrClosed];
// closing again does nothing.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file name the database was opened with.
func (db *DB) Path() string { return db.path }

// Pairs returns the IDs of the pairs that have state, in byte order.
func (db *DB) Pairs(ctx context.Context) ([]string, error) {
	var ids []string
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPairs).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: pairs: %w", err)
	}
	return ids, nil
}

// view runs fn in a read transaction, unless ctx is already done.
func (db *DB) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.guard(func() error { return boltErr(db.bolt.View(fn)) })
}

// unmapRead gives back the pages of the database's mapping that tx read,
// at the end of a read of a whole tree: every path and entry was copied
// out, and a running engine would otherwise keep them resident for good
// (13 MB of a service restarted on 100k files, more than its trees). The
// mapping is shared and read-only, so dropping its pages loses nothing:
// they stay in the page cache, and a later read maps them again. Within
// tx the mapping cannot move (a write transaction remaps only when no
// read transaction is open).
func (db *DB) unmapRead(tx *bbolt.Tx) {
	data, size := db.bolt.Info().Data, uintptr(tx.Size())
	if data == 0 || size == 0 {
		return
	}
	// Advice only: an error leaves the pages mapped, as before.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, data, size, unix.MADV_DONTNEED)
}

// update runs fn in a write transaction, unless ctx is already done. The
// transaction commits, durably, only when fn returns nil.
func (db *DB) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.guard(func() error { return boltErr(db.bolt.Update(fn)) })
}

// guard runs fn, turning a panic of the database library (which it raises
// on damaged pages, after rolling back its transaction) into an error
// wrapping [ErrCorrupt].
func (db *DB) guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: the database library failed on damaged pages: %v", ErrCorrupt, db.path, r)
		}
	}()
	return fn()
}

func boltErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// DefaultDir returns the directory for state databases:
// $XDG_STATE_HOME/zerosync when XDG_STATE_HOME is set to an absolute path,
// else ~/.local/state/zerosync. It does not create the directory.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "zerosync"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state: no state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "zerosync"), nil
}

// DefaultPath returns the file of the state database called name in
// [DefaultDir]: <dir>/<name>.db. The name must be a plain file name.
func DefaultPath(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("state: %w: database name %q", ErrInvalid, name)
	}
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name+".db"), nil
}
