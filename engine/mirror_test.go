package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
)

func TestMirrorDeploysOneWay(t *testing.T) {
	e, src, site := pairOf(t, engine.WithDiffer(engine.Mirror{}))
	require.NoError(t, src.WriteFile("index.html", []byte("<h1>v1</h1>"), 0o644))
	require.NoError(t, src.WriteFile("css/site.css", []byte("body{}"), 0o644))
	require.NoError(t, site.WriteFile("stale.html", []byte("old page"), 0o644))

	// Dry run first: nothing moves.
	plans, err := e.Plan(context.Background())
	require.NoError(t, err)
	assert.Len(t, plans["b"].Actions, 4) // create css, css/site.css, index.html; remove stale.html
	assert.Empty(t, plans["b"].Conflicts)
	assert.Equal(t, map[string]string{"stale.html": "old page"}, site.Contents())

	syncOK(t, e)
	assert.Equal(t, src.Contents(), site.Contents())

	// An edit made on the target is overwritten, but archived first; the
	// source never changes.
	require.NoError(t, site.WriteFile("index.html", []byte("hot fix on the server"), 0o644))
	require.NoError(t, src.WriteFile("index.html", []byte("<h1>v2</h1>"), 0o644))
	syncOK(t, e)
	assert.Equal(t, "<h1>v2</h1>", site.Contents()["index.html"])
	var archived []string
	for _, a := range site.Archive() {
		archived = append(archived, string(a.Data))
	}
	assert.Contains(t, archived, "hot fix on the server")
	assert.Contains(t, archived, "old page")
	assert.Equal(t, "<h1>v2</h1>", src.Contents()["index.html"])
}
