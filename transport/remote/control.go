package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// maxEngineName bounds the name of an engine in a control request.
const maxEngineName = 64

// relayChunk is the most bytes one data frame of a control stream
// carries.
const relayChunk = 32 << 10

// ValidEngineName reports whether name can name an engine whose daemon a
// control request reaches: 1 to 64 bytes of letters, digits, '.', '_' and
// '-', not starting with '.' or '-'. Anything else (a path, a NUL) is an
// error saying so.
func ValidEngineName(name string) error {
	if name == "" || len(name) > maxEngineName {
		return fmt.Errorf("engine name %q is empty or longer than %d bytes", cut(name, 64), maxEngineName)
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("engine name %q starts with %q", name, name[0])
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("engine name %q holds %q: only letters, digits, '.', '_' and '-' name an engine", name, c)
		}
	}
	return nil
}

// WithControl lets the agent relay control requests: a client's
// [Client.DialControl] reaches the daemon of an engine on the agent's host
// through dial, which is called with a name that passed
// [ValidEngineName] and returns a connection to that daemon's control
// socket (the agent's own user's, never anything a client names). Bytes
// are then relayed both ways until either side ends. Without it the agent
// does not offer control requests in the handshake. Meant for [Serve].
func WithControl(dial func(ctx context.Context, engine string) (io.ReadWriteCloser, error)) Option {
	return func(c *config) error {
		if dial == nil {
			return errors.New("remote: nil control dialer")
		}
		c.control = dial
		return nil
	}
}

// relay serves a control request: it connects to the daemon of engine and
// copies bytes both ways. The open-ok frame (size 0) says the daemon
// answered; the stream ends with end once the daemon closed its side, or
// with an error.
func (s *server) relay(ctx context.Context, st *stream, engine string) error {
	if s.cfg.control == nil {
		return fmt.Errorf("control: %w", errors.ErrUnsupported)
	}
	conn, err := s.cfg.control(ctx, engine)
	if err != nil {
		return fmt.Errorf("the daemon of %s: %w", engine, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	closeConn := func() { once.Do(func() { conn.Close() }) }
	defer closeConn()
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()
	if err := st.send(ctx, tOpenOK, encodeOpenOK(0), false); err != nil {
		return err
	}
	in := make(chan error, 1)
	go func() {
		err := s.relayIn(ctx, st, conn)
		if err != nil {
			cancel() // the client is gone, or broke the stream
		}
		in <- err
	}()
	buf := make([]byte, relayChunk)
	var rerr error
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if err := st.send(ctx, tData, append([]byte(nil), buf[:n]...), false); err != nil {
				rerr = err
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if rerr != nil || ctx.Err() != nil {
		cancel()
		ierr := <-in
		if ctx.Err() != nil && ierr != nil {
			return ierr
		}
		if rerr == nil {
			rerr = ctx.Err()
		}
		return fmt.Errorf("the daemon of %s: %w", engine, rerr)
	}
	// The daemon closed its side: the stream ends; what the client
	// still sends is not wanted.
	cancel()
	<-in
	return st.send(s.ctx, tEnd, nil, false)
}

// relayIn copies the client's data frames to the daemon until the client
// ends its side.
func (s *server) relayIn(ctx context.Context, st *stream, conn io.ReadWriteCloser) error {
	for {
		f, err := st.next(ctx)
		if err != nil {
			return err
		}
		switch f.typ {
		case tData:
			if _, err := conn.Write(f.payload); err != nil {
				return err
			}
		case tEnd:
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			return nil
		case tError:
			return errors.New("the client gave up")
		default:
			return protoErr("%s frame on a control stream", f.typ)
		}
	}
}

// DialControl connects to the daemon of the engine called engine on the
// agent's host, through the agent (which must offer it: [WithControl]), and
// returns the connection: bytes written reach the daemon's control socket,
// and its answers are read. engine must pass [ValidEngineName]. An agent
// that cannot relay is an error wrapping [errors.ErrUnsupported]; no
// daemon of that engine on the host is the agent's error. Close the
// connection when done; it fails once the agent's connection ends.
func (c *Client) DialControl(ctx context.Context, engine string) (net.Conn, error) {
	if err := ValidEngineName(engine); err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if c.caps&capControl == 0 {
		return nil, fmt.Errorf("remote: the agent (version %s) does not reach daemons: %w", c.agent.Version, errors.ErrUnsupported)
	}
	st, err := c.start(ctx, tControl, request{engine: engine})
	if err != nil {
		return nil, fmt.Errorf("remote: control %s: %w", engine, err)
	}
	f, err := st.next(ctx)
	if err != nil {
		c.finish(st)
		return nil, fmt.Errorf("remote: control %s: %w", engine, err)
	}
	switch f.typ {
	case tOpenOK:
		if n, err := decodeOpenOK(f.payload); err != nil || n != 0 {
			c.finish(st)
			return nil, fmt.Errorf("remote: control %s: %w", engine, c.violation(protoErr("open-ok of a control stream: size %d, %v", n, err)))
		}
	case tError:
		c.finish(st)
		return nil, fmt.Errorf("remote: control %s: %w", engine, c.remoteErr(f))
	default:
		c.finish(st)
		return nil, fmt.Errorf("remote: control %s: %w", engine, c.violation(protoErr("%s frame instead of open-ok", f.typ)))
	}
	base, cancel := context.WithCancel(context.Background())
	return &controlConn{c: c, st: st, engine: engine, base: base, cancel: cancel}, nil
}

// controlConn is a connection to a daemon through the agent. Read and
// Write may be called from one goroutine each.
type controlConn struct {
	c      *Client
	st     *stream
	engine string
	base   context.Context
	cancel context.CancelFunc
	once   sync.Once

	rmu  sync.Mutex
	rbuf []byte
	rerr error

	dmu     sync.Mutex
	rdl, wd time.Time
}

// ctx returns a context that ends at the deadline dl, or when the
// connection is closed.
func (cc *controlConn) ctx(dl time.Time) (context.Context, context.CancelFunc) {
	if dl.IsZero() {
		return cc.base, func() {}
	}
	return context.WithDeadline(cc.base, dl)
}

func (cc *controlConn) Read(p []byte) (int, error) {
	cc.rmu.Lock()
	defer cc.rmu.Unlock()
	for len(cc.rbuf) == 0 {
		if cc.base.Err() != nil {
			return 0, net.ErrClosed
		}
		if cc.rerr != nil {
			return 0, cc.rerr
		}
		cc.dmu.Lock()
		dl := cc.rdl
		cc.dmu.Unlock()
		ctx, cancel := cc.ctx(dl)
		f, err := cc.st.next(ctx)
		cancel()
		if err != nil {
			switch {
			case cc.base.Err() != nil:
				return 0, net.ErrClosed
			case errors.Is(err, context.DeadlineExceeded):
				return 0, os.ErrDeadlineExceeded
			}
			cc.rerr = err
			continue
		}
		switch f.typ {
		case tData:
			cc.rbuf = f.payload
		case tEnd:
			cc.rerr = io.EOF
		case tError:
			cc.rerr = cc.c.remoteErr(f)
		default:
			cc.rerr = cc.c.violation(protoErr("%s frame on a control stream", f.typ))
		}
	}
	n := copy(p, cc.rbuf)
	cc.rbuf = cc.rbuf[n:]
	return n, nil
}

func (cc *controlConn) Write(p []byte) (int, error) {
	if cc.base.Err() != nil {
		return 0, net.ErrClosed
	}
	cc.dmu.Lock()
	dl := cc.wd
	cc.dmu.Unlock()
	ctx, cancel := cc.ctx(dl)
	defer cancel()
	n := 0
	for n < len(p) {
		k := min(len(p)-n, relayChunk)
		if err := cc.st.send(ctx, tData, append([]byte(nil), p[n:n+k]...), false); err != nil {
			switch {
			case cc.base.Err() != nil:
				return n, net.ErrClosed
			case errors.Is(err, context.DeadlineExceeded):
				return n, os.ErrDeadlineExceeded
			case errors.Is(err, errPeerDone):
				return n, fmt.Errorf("remote: control %s: the daemon closed the connection: %w", cc.engine, io.ErrClosedPipe)
			}
			return n, err
		}
		n += k
	}
	return n, nil
}

// Close ends the connection; the agent closes its connection to the
// daemon.
func (cc *controlConn) Close() error {
	cc.once.Do(func() {
		cc.cancel()
		cc.c.finish(cc.st)
	})
	return nil
}

func (cc *controlConn) LocalAddr() net.Addr  { return controlAddr("client") }
func (cc *controlConn) RemoteAddr() net.Addr { return controlAddr(cc.engine) }

func (cc *controlConn) SetDeadline(t time.Time) error {
	cc.dmu.Lock()
	cc.rdl, cc.wd = t, t
	cc.dmu.Unlock()
	return nil
}

func (cc *controlConn) SetReadDeadline(t time.Time) error {
	cc.dmu.Lock()
	cc.rdl = t
	cc.dmu.Unlock()
	return nil
}

func (cc *controlConn) SetWriteDeadline(t time.Time) error {
	cc.dmu.Lock()
	cc.wd = t
	cc.dmu.Unlock()
	return nil
}

// controlAddr names an end of a control connection: the engine whose
// daemon it reaches.
type controlAddr string

func (a controlAddr) Network() string { return "zerosync-control" }
func (a controlAddr) String() string  { return string(a) }
