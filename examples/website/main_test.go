package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/app/apptest"
	"github.com/zerosync/zerosync/transport/local"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }

// planned returns the changes plan printed for peer, one "VERB PATH" each
// (PATH as the command prints it), sorted, and fails unless plan announced
// exactly that many.
func planned(t *testing.T, out, peer string) []string {
	t.Helper()
	var got []string
	in, announced := false, -1
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "with "); ok {
			name, counts, _ := strings.Cut(rest, ": ")
			in = name == app.Name(peer)
			if in {
				fmt.Sscanf(counts, "%d change(s)", &announced)
			}
			continue
		}
		f := strings.Fields(line)
		if !in || len(f) < 4 || f[0] == "problem" {
			continue
		}
		require.Equal(t, []string{"on", app.Name(peer)}, f[1:3], "a deploy changes only the servers:\n%s", out)
		got = append(got, f[0]+" "+f[3])
	}
	require.Equal(t, announced, len(got), "plan announced %d change(s) with %s and listed %d:\n%s", announced, peer, len(got), out)
	slices.Sort(got)
	return got
}

// TestDeployWithDelete deploys a site to two web servers: "plan" first
// lists every change for each server, one by one, and changes nothing on
// any host; "once" then makes each server's tree the source's, drafts and
// design files left out: a file removed from the source is removed from
// the servers, a file edited on a server is replaced by the source's and
// kept in that server's archive, and nothing flows back to the source.
func TestDeployWithDelete(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "web1", "web2")
	src, web1, web2 := h.Root, h.Peers["web1"], h.Peers["web2"]
	site := map[string]string{
		"index.html":   "<h1>home</h1>\n",
		"about.html":   "<h1>about</h1>\n",
		"css/site.css": "body { margin: 0 }\n",
		"img/logo.svg": "<svg/>\n",
	}
	for p, c := range site {
		h.Write(src, p, c, 0o644)
	}
	h.Write(src, "drafts/next-post.html", "<h1>soon</h1>\n", 0o644)
	h.Write(src, "logo.psd", "layers\n", 0o644)
	h.Write(src, ".git/HEAD", "ref: refs/heads/main\n", 0o644)
	h.Write(src, ".DS_Store", "finder\n", 0o644)

	trees := func() [3]map[string]string { return [3]map[string]string{h.Tree(src), h.Tree(web1), h.Tree(web2)} }
	before := trees()
	out := h.Run("plan")
	first := []string{"create about.html", "create css", "create css/site.css", "create img", "create img/logo.svg", "create index.html"}
	for _, web := range []string{"web1", "web2"} {
		assert.Equal(t, first, planned(t, out, web), "plan before the first deploy to %s", web)
	}
	assert.Equal(t, before, trees(), "plan changed a tree")

	h.Run("once")
	for _, dir := range []string{web1, web2} {
		assert.Equal(t, site, h.Tree(dir), "%s after the first deploy", dir)
	}

	// The source removes a page, edits one and adds one; someone edits the
	// stylesheet on web1 and leaves a file of their own on web2.
	require.NoError(t, os.Remove(filepath.Join(src, "about.html")))
	h.Write(src, "index.html", "<h1>home, v2</h1>\n", 0o644)
	h.Write(src, "contact.html", "<h1>contact</h1>\n", 0o644)
	h.Write(web1, "css/site.css", "body { margin: 0; color: red }\n", 0o644)
	h.Write(web2, "phpinfo.php", "<?php phpinfo();\n", 0o644)

	before = trees()
	out = h.Run("plan")
	assert.Equal(t, []string{"create contact.html", "remove about.html", "update css/site.css", "update index.html"}, planned(t, out, "web1"))
	assert.Equal(t, []string{"create contact.html", "remove about.html", "remove phpinfo.php", "update index.html"}, planned(t, out, "web2"))
	assert.Equal(t, before, trees(), "plan changed a tree")

	h.Run("once")
	want := h.Tree(src)
	assert.Equal(t, map[string]string{"index.html": "<h1>home, v2</h1>\n", "contact.html": "<h1>contact</h1>\n",
		"css/site.css": "body { margin: 0 }\n", "img/logo.svg": "<svg/>\n",
		"drafts/next-post.html": "<h1>soon</h1>\n", "logo.psd": "layers\n", ".git/HEAD": "ref: refs/heads/main\n", ".DS_Store": "finder\n"},
		want, "the deploy changed the source")
	for _, p := range []string{"drafts/next-post.html", "logo.psd", ".git/HEAD", ".DS_Store"} {
		delete(want, p)
	}
	for _, dir := range []string{web1, web2} {
		assert.Equal(t, want, h.Tree(dir), "%s after the deploy", dir)
	}
	assert.Equal(t, []string{"body { margin: 0; color: red }\n"}, archived(t, web1, "css/site.css"), "web1's edit should be kept in its archive")
	assert.Equal(t, []string{"<?php phpinfo();\n"}, archived(t, web2, "phpinfo.php"), "web2's own file should be kept in its archive")
	out = h.Run("plan")
	assert.Empty(t, planned(t, out, "web1"))
	assert.Empty(t, planned(t, out, "web2"))
}

// archived returns the contents of the versions of p kept in the archive
// of the tree dir, newest first.
func archived(t *testing.T, dir, p string) []string {
	t.Helper()
	ep, err := local.New(dir)
	require.NoError(t, err)
	defer ep.Close()
	ctx := context.Background()
	vs, err := ep.Versions(ctx, p)
	require.NoError(t, err)
	var out []string
	for _, v := range vs {
		rc, err := ep.OpenVersion(ctx, v.ID)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}
