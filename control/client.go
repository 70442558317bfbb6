package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// maxAnswer is the largest answer the client reads (a conflict's versions
// travel in one).
const maxAnswer = 512 << 20

// maxEventLine is the longest line of the event stream the client reads
// (a cycle's report with its every change).
const maxEventLine = 64 << 20

// Client speaks to the daemon of one engine over its socket. Its methods
// are safe for concurrent use. A request that fails at the daemon returns
// an *[Error]; one that cannot reach it, an error wrapping [ErrNotRunning].
type Client struct {
	path string
	hc   *http.Client
}

// Dial connects to the daemon listening at path ([SocketPath]) and checks
// that it speaks this API ([APIVersion]). No daemon there is an error
// wrapping [ErrNotRunning].
func Dial(ctx context.Context, path string) (*Client, error) {
	return DialWith(ctx, path, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	})
}

// DialWith is [Dial] over connections that dial makes: to a daemon on
// another host, through the agent there (an SSH endpoint's DialControl).
// where names the daemon in errors.
func DialWith(ctx context.Context, where string, dial func(ctx context.Context) (net.Conn, error)) (*Client, error) {
	path := where
	c := &Client{path: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx)
		},
		MaxIdleConns:      4,
		DisableKeepAlives: false,
	}}}
	h, err := c.Hello(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	if h.API != APIVersion {
		c.Close()
		return nil, fmt.Errorf("control: the daemon on %s speaks API %d, this command %d: run the same release of both", path, h.API, APIVersion)
	}
	return c, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// request sends a request and returns the answer's body, which the caller
// closes, when its status is 2xx; any other status is read as an *Error.
func (c *Client) request(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://daemon"+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("control: %w on %s: %w", ErrNotRunning, c.path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || json.Unmarshal(b, e) != nil || e.Message == "" {
		e = &Error{Code: CodeInternal, Message: fmt.Sprintf("control: the daemon answered %s", resp.Status)}
	}
	e.Status = resp.StatusCode
	return nil, e
}

// call sends a request and decodes the JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.request(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("control: read the answer: %w", err)
	}
	if len(b) > maxAnswer {
		return fmt.Errorf("control: the daemon's answer is over %d bytes", maxAnswer)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("control: decode the answer: %w", err)
	}
	return nil
}

// Hello asks the daemon what it is.
func (c *Client) Hello(ctx context.Context) (Hello, error) {
	var h Hello
	return h, c.call(ctx, http.MethodGet, "/v1/hello", nil, &h)
}

// Status returns the engine's state and its peers'.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	return st, c.call(ctx, http.MethodGet, "/v1/status", nil, &st)
}

// Pause pauses the engine; a cycle under way finishes first.
func (c *Client) Pause(ctx context.Context) (Status, error) {
	var st Status
	return st, c.call(ctx, http.MethodPost, "/v1/pause", nil, &st)
}

// Resume resumes the engine and lets halted pairs try again.
func (c *Client) Resume(ctx context.Context) (Status, error) {
	var st Status
	return st, c.call(ctx, http.MethodPost, "/v1/resume", nil, &st)
}

// Flush syncs now and returns that cycle's report, as `mutagen sync
// flush` does. What stopped a pair in the cycle is the error (an *Error
// with the report still returned); a paused engine is an error matching
// [zerosync.ErrPaused].
func (c *Client) Flush(ctx context.Context) (Report, error) {
	var out FlushResponse
	if err := c.call(ctx, http.MethodPost, "/v1/flush", nil, &out); err != nil {
		return Report{}, err
	}
	if out.Error != "" {
		return out.Report, &Error{Status: http.StatusOK, Code: CodeInternal, Message: out.Error, Advice: out.Advice}
	}
	return out.Report, nil
}

// Plan returns what a full cycle would do, changing nothing.
func (c *Client) Plan(ctx context.Context) (Plan, error) {
	var p Plan
	return p, c.call(ctx, http.MethodGet, "/v1/plan", nil, &p)
}

// Conflicts lists the conflicts waiting for a person.
func (c *Client) Conflicts(ctx context.Context) ([]ConflictItem, error) {
	var out Conflicts
	return out.Conflicts, c.call(ctx, http.MethodGet, "/v1/conflicts", nil, &out)
}

// Conflict returns one waiting conflict of the pair with peer, with its
// versions and their differences.
func (c *Client) Conflict(ctx context.Context, peer string, number uint64) (ConflictDetail, error) {
	var out ConflictDetail
	return out, c.call(ctx, http.MethodGet, conflictPath(peer, number), nil, &out)
}

// ApplyConflict settles a waiting conflict as req says, in this host's
// tree, and syncs so the peers have it too.
func (c *Client) ApplyConflict(ctx context.Context, peer string, number uint64, req ApplyRequest) (ApplyResponse, error) {
	var out ApplyResponse
	return out, c.call(ctx, http.MethodPost, conflictPath(peer, number)+"/apply", req, &out)
}

func conflictPath(peer string, number uint64) string {
	return "/v1/conflicts/" + url.PathEscape(peer) + "/" + strconv.FormatUint(number, 10)
}

// Versions lists the versions of path kept in this host's archive (of
// every path when path is empty), newest first.
func (c *Client) Versions(ctx context.Context, path Path) ([]Version, error) {
	var out Versions
	q := ""
	if path != "" {
		q = "?" + url.Values{"path": {string(path)}}.Encode()
	}
	return out.Versions, c.call(ctx, http.MethodGet, "/v1/versions"+q, nil, &out)
}

// RestoreVersion writes version id of path back into this host's tree and
// syncs so the peers have it too.
func (c *Client) RestoreVersion(ctx context.Context, path Path, id string) (ApplyResponse, error) {
	var out ApplyResponse
	return out, c.call(ctx, http.MethodPost, "/v1/versions/restore", RestoreRequest{Path: path, ID: id}, &out)
}

// Attach starts syncing with the tree at location as the peer name,
// without a restart.
func (c *Client) Attach(ctx context.Context, name, location string) (PeerStatus, error) {
	var out PeerStatus
	return out, c.call(ctx, http.MethodPost, "/v1/peers", AttachRequest{Name: name, Location: location}, &out)
}

// Detach stops syncing with the peer name; its state is kept.
func (c *Client) Detach(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/v1/peers/"+url.PathEscape(name), nil, &OK{})
}

// Adopt accepts the roots of the pair with peer (every pair when empty)
// as they are now.
func (c *Client) Adopt(ctx context.Context, peer string) error {
	return c.call(ctx, http.MethodPost, "/v1/adopt", AdoptRequest{Peer: peer}, &OK{})
}

// ConfirmDeletions lets the next cycle apply the deletions the safety
// checks stopped.
func (c *Client) ConfirmDeletions(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/v1/confirm-deletions", nil, &OK{})
}

// Stop asks the daemon to stop: its engine's Run returns.
func (c *Client) Stop(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/v1/stop", nil, &OK{})
}

// Metrics scrapes the daemon's Prometheus metrics, by name.
func (c *Client) Metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	resp, err := c.request(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("control: parse the metrics: %w", err)
	}
	return fams, nil
}

// ErrDropped: the daemon dropped the event stream because its reader fell
// behind.
var ErrDropped = errors.New("control: the event stream fell behind and was dropped")

// Events opens the stream of the engine's events. Close it when done;
// ending ctx ends it too.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	resp, err := c.request(ctx, http.MethodGet, "/v1/events", nil)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventLine)
	return &EventStream{body: resp.Body, sc: sc}, nil
}

// EventStream is an open stream of events. It is not safe for concurrent
// use.
type EventStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// Next returns the next event, waiting for it. The end of the stream is
// [io.EOF]; a stream the daemon dropped ends with [ErrDropped].
func (s *EventStream) Next() (Event, error) {
	for s.sc.Scan() {
		line := bytes.TrimSpace(s.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return Event{}, fmt.Errorf("control: decode an event: %w", err)
		}
		if ev.Kind == EventDropped {
			return Event{}, ErrDropped
		}
		return ev, nil
	}
	if err := s.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }

// Staged lists the changes of staged peers waiting for a person.
func (c *Client) Staged(ctx context.Context) ([]StagedItem, error) {
	var out Staged
	return out.Staged, c.call(ctx, http.MethodGet, "/v1/staged", nil, &out)
}

// StagedDetail returns staged change id with its content and that of this
// host's file.
func (c *Client) StagedDetail(ctx context.Context, id uint64) (StagedDetail, error) {
	var out StagedDetail
	return out, c.call(ctx, http.MethodGet, "/v1/staged/"+strconv.FormatUint(id, 10), nil, &out)
}

// ApplyStaged writes staged changes into this host's tree (every one when
// ids is empty) and syncs so the other peers have the result.
func (c *Client) ApplyStaged(ctx context.Context, ids []uint64) (StagedResponse, error) {
	var out StagedResponse
	return out, c.call(ctx, http.MethodPost, "/v1/staged/apply", StagedRequest{IDs: ids}, &out)
}

// RejectStaged keeps this host's version of staged changes and syncs so
// the peer gets it.
func (c *Client) RejectStaged(ctx context.Context, ids []uint64) (StagedResponse, error) {
	var out StagedResponse
	return out, c.call(ctx, http.MethodPost, "/v1/staged/reject", StagedRequest{IDs: ids}, &out)
}
