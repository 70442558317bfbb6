package app_test

import (
	"testing"

	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/app/apptest"
)

// TestVersionsCommandLine: through the command line, a version a peer
// replaced is listed and restored byte for byte.
func TestVersionsCommandLine(t *testing.T) { apptest.Versions(t, &app.App{Name: "test"}) }
