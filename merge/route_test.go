package merge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

// named returns a resolver that decides with By name, counting its calls.
func named(name string, calls *int) zerosync.Resolver {
	return zerosync.ResolverFunc(func(context.Context, zerosync.Conflict) (zerosync.Resolution, error) {
		*calls++
		return zerosync.Resolution{By: name}, nil
	})
}

func TestRoute(t *testing.T) {
	var logs, hist, all int
	r, err := Route(
		Match("*.log", named("logs", &logs)),
		Match(".bash_history", named("history", &hist)),
		Match("/var/**", named("var", &all)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"a.log":              "logs",
		"var/log/app.log":    "logs", // the first matching rule wins
		"home/.bash_history": "history",
		"var/db/x":           "var",
	} {
		if res := mustResolve(t, r, textConflict(path, "a\n", "b\n", "c\n")); res.By != want {
			t.Errorf("%s went to %q, want %q", path, res.By, want)
		}
	}
	if logs != 2 || hist != 1 || all != 1 {
		t.Errorf("calls: logs %d, history %d, var %d; want 2, 1, 1", logs, hist, all)
	}
	err = mustPass(t, r, textConflict("notes.txt", "a\n", "b\n", "c\n"))
	if !strings.Contains(err.Error(), "no rule") {
		t.Errorf("pass error %q does not say no rule matched", err)
	}
}

func TestRouteDoesNotFallThrough(t *testing.T) {
	var later int
	r, err := Route(
		Match("*.txt", PreferHost("nobody")), // passes
		Match("*", named("later", &later)),
	)
	if err != nil {
		t.Fatal(err)
	}
	mustPass(t, r, textConflict("a.txt", "a\n", "b\n", "c\n"))
	if later != 0 {
		t.Errorf("a later rule was asked %d times after the matching rule passed", later)
	}
	// A failure of the matching resolver is Route's failure.
	boom := errors.New("boom")
	r, _ = Route(Match("*", zerosync.ResolverFunc(func(context.Context, zerosync.Conflict) (zerosync.Resolution, error) {
		return zerosync.Resolution{}, boom
	})))
	if _, err := r.Resolve(context.Background(), textConflict("a", "", "b", "c")); !errors.Is(err, boom) {
		t.Errorf("err = %v, want %v", err, boom)
	}
}

func TestRouteInvalid(t *testing.T) {
	_, err := Route(
		Match("*.log", PreferNewer()),
		Match("[", PreferNewer()),
		Match("*.md", nil),
		Rule{},
	)
	if err == nil {
		t.Fatal("Route accepted invalid rules")
	}
	for _, want := range []string{`"["`, `"*.md": nil resolver`, "rule 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if r, err := Route(); err != nil {
		t.Errorf("Route() = %v", err)
	} else {
		mustPass(t, r, textConflict("a", "", "b", "c"))
	}
}
