package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// actionKeys lists actions as "side verb path" lines, sorted.
func actionKeys(acts []zerosync.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, fmt.Sprintf("%s %s %s", a.Side, verbOf(a.Op), a.Path))
	}
	slices.Sort(out)
	return out
}

func problemKeys(ps []zerosync.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	slices.Sort(out)
	return out
}

// TestPlanAgreesWithOnce: on the same trees, the dry run lists exactly the
// actions, conflicts and problems that a real cycle then has, with a held
// back repository, an unreadable path and a filtered path among them.
func TestPlanAgreesWithOnce(t *testing.T) {
	filter, err := engine.NewPatterns(nil, []string{"*.tmp"})
	require.NoError(t, err)
	e, a, b := pairOf(t, engine.WithView(&holdBack{dir: "repo", held: true}), engine.WithFilter(filter))
	require.NoError(t, a.WriteFile("keep.txt", []byte("v1"), 0o644))
	require.NoError(t, a.WriteFile("gone.txt", []byte("bye"), 0o644))
	require.NoError(t, a.WriteFile("both.txt", []byte("base"), 0o644))
	_, err = e.SyncOnce(context.Background())
	require.NoError(t, err)

	require.NoError(t, a.WriteFile("new/on-a.txt", []byte("a"), 0o644))
	require.NoError(t, b.WriteFile("keep.txt", []byte("v2"), 0o644))
	require.NoError(t, b.Remove("gone.txt"))
	require.NoError(t, a.WriteFile("both.txt", []byte("ours"), 0o644))
	require.NoError(t, b.WriteFile("both.txt", []byte("theirs"), 0o644))
	require.NoError(t, a.WriteFile("scratch.tmp", []byte("filtered"), 0o644))
	require.NoError(t, a.WriteFile("repo/main.go", []byte("package main"), 0o644))

	plans, err := e.Plan(context.Background())
	require.NoError(t, err)
	plan := plans["b"]
	require.NoError(t, plan.Err)
	assert.Equal(t, map[string]string{"keep.txt": "v2", "both.txt": "theirs"}, b.Contents(), "the dry run changed nothing")

	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	var conflicts []string
	for _, c := range rep.Conflicts {
		conflicts = append(conflicts, c.Path)
	}
	var planned []string
	for _, c := range plan.Conflicts {
		planned = append(planned, c.Path)
	}
	assert.Equal(t, planned, conflicts)
	assert.Equal(t, []string{"both.txt"}, planned)
	var applied []zerosync.Action
	for _, act := range rep.Applied {
		if !slices.Contains(conflicts, act.Path) && !zerosync.IsReserved(act.Path) {
			applied = append(applied, act)
		}
	}
	assert.Equal(t, actionKeys(plan.Actions), actionKeys(applied))
	assert.Equal(t, problemKeys(plan.Problems), problemKeys(rep.Problems))
	assert.NotEmpty(t, plan.Problems, "the held-back repository shows in the dry run")
	assert.NotContains(t, b.Contents(), "scratch.tmp")
}

// TestPlanShowsWhatWouldHalt: a changed root shows in the dry run as the
// pair's error, and the dry run binds and marks nothing.
func TestPlanShowsWhatWouldHalt(t *testing.T) {
	e, a, b := pairOf(t)
	plans, err := e.Plan(context.Background())
	require.NoError(t, err)
	require.NoError(t, plans["b"].Err)
	id, err := b.RootID(context.Background())
	require.NoError(t, err)
	assert.Empty(t, id.Replica, "a dry run writes no marker")

	require.NoError(t, a.WriteFile("x", []byte("x"), 0o644))
	require.NoError(t, a.WriteFile("y", []byte("y"), 0o644))
	syncOK(t, e)
	b.ReplaceRoot("lost+found")
	plans, err = e.Plan(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootChanged)
	require.ErrorIs(t, plans["b"].Err, zerosync.ErrRootChanged)
	_, err = e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootChanged)
}
