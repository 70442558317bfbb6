package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxOutput is the most a command run for a client may print; what comes
// after is cut, and the command told so by a failed write.
const maxOutput = 16 << 20

// CommandFunc runs the engine's own command name (one the engine adds to
// the shared ones, such as the project engine's mode) for a client, in
// the daemon, with args as typed after its name, writing what it prints to
// out. It returns the exit status the command line ends with, and the
// error that ended the command, if any. An unknown name is an *[Error]
// with [CodeNotFound]. It is called from the goroutine of each request,
// possibly at the same time.
type CommandFunc func(ctx context.Context, name string, args []string, out io.Writer) (exit int, err error)

// WithCommands lets clients run the engine's own commands in the daemon
// (POST /v1/commands/{name}), so that a command that works with the
// engine's state or trees never opens them beside the daemon. Without it,
// such a request is refused.
func WithCommands(run CommandFunc) Option {
	return func(s *Server) error {
		if run == nil {
			return errors.New("control: nil command function")
		}
		s.commands = run
		return nil
	}
}

// CommandRequest is the body of POST /v1/commands/{name}: the arguments
// typed after the command's name, less the global flags.
type CommandRequest struct {
	Args []string `json:"args"`
}

// CommandResponse answers POST /v1/commands/{name}: what the command
// printed, and how it ended: Exit is the exit status of the command line
// (0 when it did what it was asked), Error and Advice what a person reads
// when it failed.
type CommandResponse struct {
	Output string `json:"output"`
	Exit   int    `json:"exit"`
	Error  string `json:"error,omitempty"`
	Advice string `json:"advice,omitempty"`
}

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	if s.commands == nil {
		s.fail(w, r, &Error{Status: http.StatusNotImplemented, Code: CodeUnsupported, Message: "this daemon runs no commands of its engine"})
		return
	}
	var req CommandRequest
	if !s.read(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	out := &capped{max: maxOutput}
	exit, err := s.commands(r.Context(), name, req.Args, out)
	var e *Error
	if errors.As(err, &e) && e.Status/100 != 2 && e.Status != 0 {
		s.fail(w, r, e)
		return
	}
	resp := CommandResponse{Output: string(out.b), Exit: exit}
	if err != nil {
		resp.Error, resp.Advice = err.Error(), s.adviceFor(err)
		if resp.Exit == 0 {
			resp.Exit = 1
		}
	}
	s.log.DebugContext(r.Context(), "command run for a client", "command", name, "exit", resp.Exit)
	s.reply(w, http.StatusOK, resp)
}

// capped is a buffer that takes at most max bytes.
type capped struct {
	b   []byte
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if len(c.b)+len(p) > c.max {
		n := c.max - len(c.b)
		c.b = append(c.b, p[:n]...)
		return n, fmt.Errorf("control: a command printed more than %d bytes", c.max)
	}
	c.b = append(c.b, p...)
	return len(p), nil
}

// Command runs the engine's own command name with args in the daemon
// (see [WithCommands]) and returns what it printed and how it ended; a
// command that failed is an answer (its Error set), not an error.
func (c *Client) Command(ctx context.Context, name string, args []string) (CommandResponse, error) {
	var out CommandResponse
	if args == nil {
		args = []string{}
	}
	return out, c.call(ctx, http.MethodPost, "/v1/commands/"+url.PathEscape(name), CommandRequest{Args: args}, &out)
}
