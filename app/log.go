package app

import (
	"io"
	"log/slog"
	"os"
)

// newLogger returns a command's logger, writing to w: Info and above by
// default (so warnings and errors are never discarded), Debug and above when
// verbose. Under a service manager, which the JOURNAL_STREAM or
// INVOCATION_ID variables that systemd sets give away, each record is a
// JSON object on a line of its own, for the journal; otherwise it is text
// (key=value), with every value that holds a space, a quote or a character
// that is not printable quoted as Go quotes it.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if verbose {
		opts.Level = slog.LevelDebug
	}
	if underService() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// underService reports whether a service manager runs this process.
func underService() bool {
	return os.Getenv("JOURNAL_STREAM") != "" || os.Getenv("INVOCATION_ID") != ""
}
