package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/zerosync/zerosync"
)

// ErrProtocol is wrapped by every error about a peer that broke the
// protocol: a malformed or oversized frame, an unknown message type, a
// message out of place, a stream that lies about its size. The connection is
// closed when it happens; the error text says what was wrong.
var ErrProtocol = errors.New("protocol violation")

// ErrClosed is wrapped by the errors of calls on a connection that was
// closed by [Client.Close] or by the peer.
var ErrClosed = errors.New("connection closed")

// ErrStalled is wrapped by the errors of a peer that made no progress
// within a deadline: a handshake not completed in time
// ([WithHandshakeTimeout]), a connection without a whole frame for the
// keepalive timeout, a request the agent left unanswered, a peer that
// takes nothing this side writes ([WithKeepalive]). The connection is
// closed when it happens; errors of the calls it ends wrap [ErrClosed] too.
var ErrStalled = errors.New("no progress")

// VersionError reports that the two sides share no protocol version. Local
// and Remote are the ranges of versions each side speaks (lowest, highest).
type VersionError struct {
	Local, Remote [2]int
	// Agent is the version string the other side announced, if any.
	Agent string
}

func (e *VersionError) Error() string {
	s := fmt.Sprintf("no common protocol version: this side speaks %s, the other side speaks %s", span(e.Local), span(e.Remote))
	if e.Agent != "" {
		s += " (version " + e.Agent + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrProtocol) true for a version mismatch.
func (e *VersionError) Is(target error) bool { return target == ErrProtocol }

func span(r [2]int) string {
	if r[0] == r[1] {
		return fmt.Sprintf("version %d", r[0])
	}
	return fmt.Sprintf("versions %d to %d", r[0], r[1])
}

// RemoteError is an error that happened on the other side of the
// connection, carried across it. errors.Is matches it against the sentinel
// errors it wrapped over there (those of package zerosync, fs.ErrNotExist,
// fs.ErrExist, fs.ErrPermission, fs.ErrClosed, context.Canceled,
// context.DeadlineExceeded, errors.ErrUnsupported, [ErrProtocol] and
// [ErrStalled]).
type RemoteError struct {
	// Msg is the error text from the other side.
	Msg   string
	codes uint64
}

func (e *RemoteError) Error() string { return e.Msg }

// Is reports whether the remote error wrapped target.
func (e *RemoteError) Is(target error) bool {
	for i, s := range wireErrors {
		if s == target {
			return e.codes&(1<<i) != 0
		}
	}
	return false
}

// wireErrors are the sentinels an error keeps across the wire, by bit
// number. The order is part of the protocol: add at the end only.
var wireErrors = [...]error{
	zerosync.ErrChanged,
	zerosync.ErrDigestMismatch,
	zerosync.ErrInvalidPath,
	zerosync.ErrReserved,
	zerosync.ErrTooLarge,
	zerosync.ErrRootMissing,
	fs.ErrNotExist,
	fs.ErrExist,
	fs.ErrPermission,
	fs.ErrClosed,
	context.Canceled,
	context.DeadlineExceeded,
	errors.ErrUnsupported,
	zerosync.ErrNoBase,
	ErrProtocol,
	ErrStalled,
}

// errorCodes returns the bits of the sentinels err wraps.
func errorCodes(err error) uint64 {
	var codes uint64
	for i, s := range wireErrors {
		if errors.Is(err, s) {
			codes |= 1 << i
		}
	}
	return codes
}

// wireMessage is the text of err to send: a *zerosync.PathError loses its
// own prefix, since the receiving side adds one of its own.
func wireMessage(err error) string {
	if err == nil {
		return "unspecified error"
	}
	var pe *zerosync.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		err = pe.Err
	}
	return cut(err.Error(), maxMessageLen)
}

// appendError encodes err: the sentinel bits, then the text.
func appendError(e *encoder, err error) {
	e.Uvarint(errorCodes(err))
	e.Str(wireMessage(err))
}

func encodeError(err error) []byte {
	var e encoder
	appendError(&e, err)
	return e.B
}

func (d *decoder) remoteError(field string) *RemoteError {
	codes := d.Uvarint(field)
	msg := d.Str(field, maxMessageLen)
	if d.Err != nil {
		return nil
	}
	if msg == "" {
		msg = "unspecified error"
	}
	// Bits this side does not know are kept: Is ignores them.
	return &RemoteError{Msg: msg, codes: codes}
}

func decodeError(b []byte) (*RemoteError, error) {
	d := newDecoder("error", b)
	e := d.remoteError("error")
	if err := d.End(); err != nil {
		return nil, err
	}
	return e, nil
}

// protoErr returns an error wrapping ErrProtocol.
func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}
