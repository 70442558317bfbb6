package dialin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSocketPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	p, err := SocketPath("notes", "laptop")
	require.NoError(t, err)
	require.Equal(t, "/run/user/1000/zerosync/dialin/notes/laptop.sock", p)

	for _, bad := range [][2]string{{"", "laptop"}, {"notes", ""}, {"notes", "../x"}, {"no/tes", "laptop"}, {"notes", strings.Repeat("x", 65)}} {
		_, err := SocketPath(bad[0], bad[1])
		require.Error(t, err, "engine %q, spoke %q", bad[0], bad[1])
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/"+strings.Repeat("long", 20))
	_, err = SocketPath("notes", "laptop")
	require.ErrorContains(t, err, "over the 107")
	t.Setenv("XDG_RUNTIME_DIR", "")
	_, err = SocketPath("notes", "laptop")
	require.ErrorContains(t, err, "XDG_RUNTIME_DIR")
	t.Setenv("XDG_RUNTIME_DIR", "relative")
	_, err = SocketPath("notes", "laptop")
	require.Error(t, err)
}

// FuzzSocketPath: whatever names and runtime directory it is given,
// socketPath either refuses them or returns a clean path of a socket
// named after the spoke, two levels below the runtime directory's
// zerosync/dialin, short enough for a UNIX socket.
func FuzzSocketPath(f *testing.F) {
	f.Add("/run/user/1000", "notes", "laptop")
	f.Add("/run/user/1000", "..", "laptop")
	f.Add("/run/user/1000/", "a.b", "c-d_e")
	f.Add("/tmp", "x", "y\n")
	f.Fuzz(func(t *testing.T, run, engine, spoke string) {
		p, err := socketPath(run, engine, spoke)
		if err != nil {
			return
		}
		if CheckName(engine) != nil || CheckName(spoke) != nil {
			t.Fatalf("names %q and %q were taken", engine, spoke)
		}
		if err := checkSocketPath(p); err != nil {
			t.Fatalf("SocketPath returned %q: %v", p, err)
		}
		want := filepath.Join(filepath.Clean(run), "zerosync", "dialin", engine, spoke+".sock")
		if p != want {
			t.Fatalf("SocketPath = %q, want %q", p, want)
		}
		if filepath.Base(p) != spoke+".sock" || filepath.Base(filepath.Dir(p)) != engine {
			t.Fatalf("SocketPath = %q escapes its directory", p)
		}
	})
}
