package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// maxRequest is the largest request body the server reads (a merged file
// travels in one, in base64).
const maxRequest = 96 << 20

// Attacher opens the endpoints of peers attached through the API and
// releases them when they are detached. The server calls it from the
// goroutine of one request at a time.
type Attacher interface {
	// Attach returns the endpoint of the tree at location (as a person
	// gives it: a directory, HOST:PATH), to sync with as the peer name.
	Attach(ctx context.Context, name, location string) (zerosync.Endpoint, error)
	// Detach is called once the peer name left the engine, or when the
	// engine refused the endpoint Attach returned; the attacher closes the
	// endpoint if it opened it. It is called for peers the engine had from
	// the start too.
	Detach(ctx context.Context, name string) error
}

// Server serves one engine's control API and metrics on a UNIX socket.
// Build it with [New], give it a listener from [Listen] with
// [Server.Serve], and end it with [Server.Shutdown].
type Server struct {
	e        *engine.Engine
	log      *slog.Logger
	attacher Attacher
	advice   func(error) string
	stop     func()
	state    string
	buffer   int
	metrics  *metrics
	// ev shares settings with the daemons of the peers (WithEverywhere).
	ev *Everywhere
	// commands runs the engine's own commands (WithCommands).
	commands CommandFunc

	stopOnce sync.Once
	stopped  chan struct{}

	attachMu sync.Mutex // one attach or detach at a time

	mu        sync.Mutex // guards locations and served
	locations map[string]string

	http   *http.Server
	base   context.Context
	cancel context.CancelFunc
	served bool
}

// Option configures a [Server].
type Option func(*Server) error

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error {
		if l == nil {
			return errors.New("control: nil logger")
		}
		s.log = l
		return nil
	}
}

// WithAttacher lets clients attach and detach peers; without one, attach
// is refused.
func WithAttacher(a Attacher) Option {
	return func(s *Server) error {
		if a == nil {
			return errors.New("control: nil attacher")
		}
		s.attacher = a
		return nil
	}
}

// WithAdvice sets what the server tells a person about an engine error,
// beside the error: the commands to type ("" for none).
func WithAdvice(f func(error) string) Option {
	return func(s *Server) error {
		if f == nil {
			return errors.New("control: nil advice")
		}
		s.advice = f
		return nil
	}
}

// WithStop sets what POST /v1/stop does: stop must make the engine's Run
// return (cancel its context). Without it, stop is refused.
func WithStop(stop func()) Option {
	return func(s *Server) error {
		if stop == nil {
			return errors.New("control: nil stop")
		}
		s.stop = stop
		return nil
	}
}

// WithLocations tells where the peers the engine started with are, by
// name, for status (an endpoint that cannot tell its location shows the
// one given here).
func WithLocations(locs map[string]string) Option {
	return func(s *Server) error {
		maps.Copy(s.locations, locs)
		return nil
	}
}

// WithState tells the engine's state database, which [Hello] names so
// that a client can tell whether the daemon is the one it means.
func WithState(path string) Option {
	return func(s *Server) error {
		s.state = path
		return nil
	}
}

// WithEventBuffer sets how many events each reader of the event stream may
// fall behind before it is dropped (256 by default).
func WithEventBuffer(n int) Option {
	return func(s *Server) error {
		if n < 1 {
			return fmt.Errorf("control: event buffer %d out of range", n)
		}
		s.buffer = n
		return nil
	}
}

// New builds the server of engine e. Its metrics count the engine's
// events from now on, until [Server.Shutdown], which must be called even
// if the server never served.
func New(e *engine.Engine, opts ...Option) (*Server, error) {
	if e == nil {
		return nil, errors.New("control: nil engine")
	}
	s := &Server{
		e:         e,
		log:       slog.New(slog.DiscardHandler),
		advice:    func(error) string { return "" },
		buffer:    engine.DefaultSubscribeBuffer,
		stopped:   make(chan struct{}),
		locations: map[string]string{},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(e, s.log)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.base, s.cancel = context.WithCancel(context.Background())
	s.metrics.start(s.base)
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Serve answers requests on l, a UNIX socket (from [Listen]), until
// [Server.Shutdown]; it returns [http.ErrServerClosed] then. Any other
// kind of listener is refused: the API has no authentication of its own
// beyond the socket's owner. Serve is called once.
func (s *Server) Serve(l net.Listener) error {
	if l.Addr().Network() != "unix" {
		return fmt.Errorf("control: refusing to serve on a %s listener: only a UNIX socket", l.Addr().Network())
	}
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		return errors.New("control: Serve called twice")
	}
	s.served = true
	s.mu.Unlock()
	return s.http.Serve(l)
}

// Shutdown stops serving: it ends the event streams and the requests
// waiting for a cycle, closes the listener (removing the socket), and waits
// for the other requests to finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	return s.http.Shutdown(ctx)
}

// Stopped is closed when a client asked the daemon to stop.
func (s *Server) Stopped() <-chan struct{} { return s.stopped }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hello", s.hello)
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("POST /v1/pause", s.pause)
	mux.HandleFunc("POST /v1/resume", s.resume)
	mux.HandleFunc("POST /v1/flush", s.flush)
	mux.HandleFunc("GET /v1/plan", s.plan)
	mux.HandleFunc("GET /v1/conflicts", s.conflicts)
	mux.HandleFunc("GET /v1/conflicts/{peer}/{number}", s.conflict)
	mux.HandleFunc("POST /v1/conflicts/{peer}/{number}/apply", s.applyConflict)
	mux.HandleFunc("GET /v1/versions", s.versions)
	mux.HandleFunc("POST /v1/versions/restore", s.restore)
	mux.HandleFunc("GET /v1/staged", s.staged)
	mux.HandleFunc("GET /v1/staged/{id}", s.stagedDetail)
	mux.HandleFunc("POST /v1/staged/apply", s.applyStaged)
	mux.HandleFunc("POST /v1/staged/reject", s.rejectStaged)
	mux.HandleFunc("POST /v1/peers", s.attach)
	mux.HandleFunc("DELETE /v1/peers/{name}", s.detach)
	mux.HandleFunc("POST /v1/adopt", s.adopt)
	mux.HandleFunc("POST /v1/confirm-deletions", s.confirmDeletions)
	mux.HandleFunc("POST /v1/stop", s.stopEngine)
	mux.HandleFunc("POST /v1/settings", s.setEverywhere)
	mux.HandleFunc("GET /v1/settings", s.settings)
	mux.HandleFunc("POST /v1/commands/{name}", s.command)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// reply writes v as the JSON answer.
func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		s.log.Error("encode answer", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":"the answer could not be encoded","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// read decodes the request body into v.
func (s *Server) read(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		s.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf("bad request body: %v", err)})
		return false
	}
	return true
}

func (s *Server) hello(w http.ResponseWriter, r *http.Request) {
	s.reply(w, http.StatusOK, Hello{API: APIVersion, Engine: s.e.Name(), PID: os.Getpid(), State: s.state})
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	s.e.Pause()
	s.log.InfoContext(r.Context(), "paused through the control socket")
	s.status(w, r)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	s.e.Resume()
	s.log.InfoContext(r.Context(), "resumed through the control socket")
	s.status(w, r)
}

func (s *Server) flush(w http.ResponseWriter, r *http.Request) {
	rep, err := s.flushNamed(r.Context())
	if errors.Is(err, zerosync.ErrPaused) || r.Context().Err() != nil {
		s.fail(w, r, err)
		return
	}
	out := FlushResponse{Report: rep, Error: errText(err)}
	if err != nil {
		out.Advice = s.adviceFor(err)
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	plans, err := s.e.Plan(r.Context())
	if plans == nil {
		s.fail(w, r, err)
		return
	}
	peers, err := s.e.Peers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := Plan{Peers: []PeerPlan{}}
	for _, p := range peers {
		pp, ok := plans[p.Name]
		if !ok {
			continue
		}
		o := PeerPlan{Peer: p.Name, Actions: []Action{}, Conflicts: []Conflict{}, Problems: []Problem{}, Error: errText(pp.Err)}
		for _, a := range pp.Actions {
			act := actionOf(a)
			act.Peer = p.Name
			o.Actions = append(o.Actions, act)
		}
		for _, c := range pp.Conflicts {
			o.Conflicts = append(o.Conflicts, conflictOf(c))
		}
		for _, pr := range pp.Problems {
			o.Problems = append(o.Problems, problemOf(pr))
		}
		if pp.Err != nil {
			o.Advice = s.adviceFor(pp.Err)
		}
		out.Peers = append(out.Peers, o)
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) adopt(w http.ResponseWriter, r *http.Request) {
	var req AdoptRequest
	if !s.read(w, r, &req) {
		return
	}
	if req.Peer != "" && !s.knownPeer(w, r, req.Peer) {
		return
	}
	if err := s.e.Adopt(r.Context(), req.Peer); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "roots adopted through the control socket", "peer", req.Peer)
	s.reply(w, http.StatusOK, OK{OK: true})
}

func (s *Server) confirmDeletions(w http.ResponseWriter, r *http.Request) {
	s.e.ConfirmDeletions()
	s.log.InfoContext(r.Context(), "deletions confirmed through the control socket")
	s.reply(w, http.StatusOK, OK{OK: true})
}

func (s *Server) stopEngine(w http.ResponseWriter, r *http.Request) {
	if s.stop == nil {
		s.fail(w, r, &Error{Status: http.StatusNotImplemented, Code: CodeUnsupported, Message: "this daemon cannot be stopped through its socket; stop its process"})
		return
	}
	s.log.InfoContext(r.Context(), "stop asked through the control socket")
	s.reply(w, http.StatusAccepted, OK{OK: true})
	http.NewResponseController(w).Flush()
	s.stopOnce.Do(func() {
		close(s.stopped)
		s.stop()
	})
}

// knownPeer answers 404 and returns false when the engine has no peer
// called name.
func (s *Server) knownPeer(w http.ResponseWriter, r *http.Request, name string) bool {
	peers, err := s.e.Peers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	for _, p := range peers {
		if p.Name == name {
			return true
		}
	}
	s.fail(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no peer named %q", name),
		Advice: fmt.Sprintf("the peers are listed by: %s status", shellWord(s.e.Name()))})
	return false
}
