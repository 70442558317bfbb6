package app

import (
	"io"
	"sync"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: a file (anything with a
// descriptor, such as an [*os.File]) that is one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// screen serializes what a command writes to a terminal, so that lines
// (its output and its log) go above a progress display while one is drawn
// instead of through it. The zero screen writes straight through.
type screen struct {
	mu sync.Mutex
	// above, when set, takes lines while a display is drawn.
	above io.Writer
}

// writer returns a writer to w that goes through s.
func (s *screen) writer(w io.Writer) io.Writer { return &screenWriter{s: s, w: w} }

// draw makes lines go to above until the returned function is called; that
// function runs done (the display's last frame) before lines go straight
// to their writers again.
func (s *screen) draw(above io.Writer) (end func(done func())) {
	s.mu.Lock()
	s.above = above
	s.mu.Unlock()
	return func(done func()) {
		s.mu.Lock()
		defer s.mu.Unlock()
		done()
		s.above = nil
	}
}

type screenWriter struct {
	s *screen
	w io.Writer
}

func (w *screenWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.above != nil {
		if n, err := w.s.above.Write(b); err == nil {
			return n, nil
		}
	}
	return w.w.Write(b)
}
