package ssh

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"github.com/zerosync/zerosync/transport/remote"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The scripts the transport runs on a host (probe, install, start) answer
// on standard output in lines of their own, "<tag> <word> <value>", where
// the tag is random and new for every run. The user's shell start-up
// files run first and may print anything (a banner, a last-login line
// without a newline, text that looks like an answer): only lines that
// carry the run's tag count, wherever they appear, and everything else is
// kept, cut short, for error messages.

// tag marks the answer lines of one run of a script.
type tag string

// newTag returns a tag no start-up file can know in advance.
func newTag() tag {
	var b [12]byte
	rand.Read(b[:])
	return tag("zerosync-" + hex.EncodeToString(b[:]))
}

// parse reports whether line is an answer line of this run, and its word
// and value. Output printed before the answer on the same line (a banner
// without a final newline) is ignored.
func (g tag) parse(line string) (word, value string, ok bool) {
	i := strings.Index(line, string(g)+" ")
	if i < 0 {
		return "", "", false
	}
	rest := strings.TrimRight(line[i+len(g)+1:], "\r")
	word, value, _ = strings.Cut(rest, " ")
	return word, value, word != ""
}

// Words of the answer lines.
const (
	wordPath    = "path"    // probe: where the agent belongs
	wordOS      = "os"      // probe: uname -s
	wordArch    = "arch"    // probe: uname -m
	wordDone    = "done"    // install: the agent is in place at value
	wordError   = "error"   // install: why it failed
	wordExec    = "exec"    // start: the agent at value speaks next
	wordMissing = "missing" // start: no usable agent at value
	wordUnsafe  = "unsafe"  // start: the agent's directory is not safe
	wordDir     = "dir"     // start: the agent's directory, before unsafe
	wordNote    = "note"    // start: a remark for the log
	wordSock    = "sock"    // start: where the agent will linger
)

// prelude defines the shell functions every script uses: say prints an
// answer line, on a line of its own even when a start-up file left one
// unfinished; chk prints why a file or directory is not safe to keep the
// agent in (another user may write to it, or it is not the user's) and
// fails, or succeeds silently.
func (g tag) prelude() string {
	return `say() { printf '\n%s %s\n' ` + shellQuote(string(g)) + ` "$*"; }; ` +
		`chk() { ` +
		`l=$(LC_ALL=C ls -ldnL "$1" 2>&1) || { echo "cannot read its mode and owner: $l"; return 1; }; ` +
		`set -f; set -- $l; set +f; ` +
		`case "$1" in ?????w*|????????w*) echo "its mode $1 lets other users write to it"; return 1;; esac; ` +
		`u=$(id -u); ` +
		`[ "$3" = "$u" ] || { echo "it belongs to user id $3, not to $u"; return 1; }; ` +
		`}; `
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellWord returns s as a person can type it in a shell: as it is when
// it holds no special character, single-quoted when it is printable, and
// Go-quoted otherwise, so that no control character reaches a terminal.
func shellWord(s string) string {
	plain := s != ""
	printable := utf8.ValidString(s)
	for _, r := range s {
		if !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("~/._+-=@%:,", r))) {
			plain = false
		}
		if !unicode.IsPrint(r) {
			printable = false
		}
	}
	switch {
	case plain:
		return s
	case printable:
		return shellQuote(s)
	}
	return strconv.Quote(s)
}

// cacheDirScript sets d to zerosync's cache directory on the host and a
// to the agent's path in it; with dir set it exports ZEROSYNC_CACHE_DIR so
// the agent keeps its caches there too.
func cacheDirScript(dir string) string {
	var b strings.Builder
	if dir != "" {
		switch {
		case dir == "~":
			b.WriteString(`ZEROSYNC_CACHE_DIR="$HOME"`)
		case strings.HasPrefix(dir, "~/"):
			b.WriteString(`ZEROSYNC_CACHE_DIR="$HOME"/` + shellQuote(dir[2:]))
		case strings.HasPrefix(dir, "/"):
			b.WriteString(`ZEROSYNC_CACHE_DIR=` + shellQuote(dir))
		default:
			b.WriteString(`ZEROSYNC_CACHE_DIR="$HOME"/` + shellQuote(dir))
		}
		b.WriteString("; export ZEROSYNC_CACHE_DIR; ")
	}
	b.WriteString(`d="${ZEROSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zerosync}"; `)
	b.WriteString(`a="$d/agent-` + remote.AgentVersion + `"; `)
	return b.String()
}

// shCommand wraps a script for the remote user's login shell, whatever it
// is.
func shCommand(script string) string { return "sh -c " + shellQuote(script) }

// startCommand runs the installed agent after saying so (exec); it says
// the agent is missing when there is none, or when the file is not the
// user's or others may write to it (with a note why), so that it is
// installed again; and it refuses a directory that is not the user's or
// that others may write to (dir, then unsafe with the reason). With
// linger set, the agent is asked to linger, with its cache directory
// exactly the script's, and the script says where its socket will be
// (sock).
func startCommand(g tag, dir string, linger time.Duration) string {
	run := `say ` + wordExec + ` "$a"; exec "$a" ` + remote.AgentArg
	if linger > 0 {
		run = `ZEROSYNC_CACHE_DIR="$d"; export ZEROSYNC_CACHE_DIR; say ` + wordSock + ` "$d/` + remote.AgentSocket + `"; ` +
			run + lingerArgs(linger)
	}
	return shCommand(g.prelude() + cacheDirScript(dir) +
		`if [ -d "$d" ]; then r=$(chk "$d") || { say ` + wordDir + ` "$d"; say ` + wordUnsafe + ` "$r"; exit 0; }; fi; ` +
		`if [ -f "$a" ] && [ -x "$a" ]; then ` +
		`if r=$(chk "$a"); then ` + run + `; fi; ` +
		`say ` + wordNote + ` "$a: $r"; ` +
		`fi; ` +
		`say ` + wordMissing + ` "$a"`)
}

// probeCommand says where the agent belongs and the host's uname -s and
// -m.
func probeCommand(g tag, dir string) string {
	return shCommand(g.prelude() + cacheDirScript(dir) +
		`say ` + wordPath + ` "$a"; say ` + wordOS + ` "$(uname -s)"; say ` + wordArch + ` "$(uname -m)"`)
}

// installCommand receives size bytes on standard input and installs them
// as the agent. The directory is made owner-only (0700), and refused when
// it is not the user's or others may write to it. The bytes land in a
// temp file that nobody may run; their length and SHA-256 (sum, in hex)
// are checked with whichever of sha256sum, shasum, sha256 and openssl the
// host has, and only then is the file made executable and renamed into
// place. Any failure removes the temp file and says why (error).
func installCommand(g tag, dir string, size int64, sum string) string {
	n := strconv.FormatInt(size, 10)
	return shCommand(g.prelude() + cacheDirScript(dir) +
		`fail() { say ` + wordError + ` "$*"; exit 1; }; ` +
		`sha() { ` +
		`for c in sha256sum 'shasum -a 256' 'sha256 -q' 'openssl dgst -sha256 -r'; do ` +
		`set -- $c; ` +
		`if command -v "$1" >/dev/null 2>&1; then s=$($c < "$t" 2>&1) || { echo "$c failed: $s"; return 1; }; echo "${s%% *}"; return 0; fi; ` +
		`done; ` +
		`echo "none of sha256sum, shasum, sha256 or openssl is installed to check it"; return 1; ` +
		`}; ` +
		`umask 077; ` +
		`m=$(mkdir -p "$d" 2>&1) || fail "cannot make the directory $d: $m"; ` +
		`r=$(chk "$d") || fail "refusing the directory $d: $r"; ` +
		`m=$(chmod 700 "$d" 2>&1) || fail "cannot make $d owner-only: $m"; ` +
		`t="$d/.agent-` + remote.AgentVersion + `.$$.tmp"; trap 'rm -f "$t"' EXIT; ` +
		`rm -f "$t"; ` +
		`m=$( (set -C; cat > "$t") 2>&1) || fail "receiving it failed: $m"; ` +
		`n=$(wc -c < "$t" | tr -d ' '); ` +
		`[ "$n" = ` + n + ` ] || fail "received $n of ` + n + ` bytes"; ` +
		`h=$(sha) || fail "cannot check its SHA-256: $h"; ` +
		`[ "$h" = ` + sum + ` ] || { rm -f "$t"; fail "its SHA-256 is $h, not ` + sum + `: it changed on the way, and was deleted"; }; ` +
		`m=$(chmod 700 "$t" 2>&1 && mv -f "$t" "$a" 2>&1) || fail "cannot move it into place at $a: $m"; ` +
		`say ` + wordDone + ` "$a"`)
}

// answer is what a script printed on standard output: its answer lines
// (the first 64), and the first bytes of everything else. Make one with
// the run's tag, use it as the script's standard output, then call end.
type answer struct {
	tag     tag
	said    []said
	partial []byte
	other   []byte
	dropped bool // other is cut short
}

type said struct{ word, value string }

const (
	maxSaid  = 64
	maxOther = 4 << 10
	maxLine  = 64 << 10
)

func (a *answer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			a.partial = append(a.partial, p...)
			if len(a.partial) > maxLine {
				// An answer line is short: this is not one.
				a.keep(a.partial)
				a.partial = a.partial[:0]
			}
			break
		}
		a.partial = append(a.partial, p[:i]...)
		a.line(string(a.partial))
		a.partial = a.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

// end takes a last line that ended without a newline.
func (a *answer) end() {
	if len(a.partial) > 0 {
		a.line(string(a.partial))
		a.partial = nil
	}
}

func (a *answer) line(s string) {
	if w, v, ok := a.tag.parse(s); ok {
		if len(a.said) < maxSaid {
			a.said = append(a.said, said{w, v})
		}
		s = s[:strings.Index(s, string(a.tag))]
	}
	if s != "" {
		a.keep([]byte(s + "\n"))
	}
}

func (a *answer) keep(p []byte) {
	room := maxOther - len(a.other)
	if len(p) > room {
		a.dropped = true
		p = p[:max(room, 0)]
	}
	a.other = append(a.other, p...)
}

// get returns the value of the first answer line with word.
func (a *answer) get(word string) (string, bool) {
	for _, s := range a.said {
		if s.word == word {
			return s.value, true
		}
	}
	return "", false
}

// printed describes, for an error message, what a host printed besides
// its answer: trimmed, cut short and Go-quoted, so that no control
// character reaches a terminal; "" when it printed nothing.
func printed(stdout []byte, cut bool, stderr []byte) string {
	var parts []string
	if s := quoteOutput(stdout, cut); s != "" {
		parts = append(parts, "standard output "+s)
	}
	if s := quoteOutput(stderr, false); s != "" {
		parts = append(parts, "standard error "+s)
	}
	if len(parts) == 0 {
		return ""
	}
	return "; the host printed on " + strings.Join(parts, " and on ")
}

// quoteOutput trims command output, keeps its first and last 256 bytes
// when it is longer than 512, and Go-quotes it; cut says it was cut short
// already.
func quoteOutput(b []byte, cut bool) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	const half = 256
	if len(s) > 2*half {
		s = s[:half] + " ... " + s[len(s)-half:]
		cut = true
	}
	q := strconv.Quote(s)
	if cut {
		q += " (cut short)"
	}
	return q
}

// plainText makes a line a script answered with fit in a message: control
// characters and invalid bytes are escaped as in Go strings, other text is
// kept as it is.
func plainText(s string) string {
	q := strconv.Quote(s)
	return strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
}
