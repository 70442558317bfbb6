package cli_test

import (
	"testing"

	"github.com/zerosync/zerosync/internal/cli"
	"github.com/zerosync/zerosync/internal/cli/clitest"
)

// TestVersionsCommandLine: through the command line, a version a peer
// replaced is listed and restored byte for byte.
func TestVersionsCommandLine(t *testing.T) { clitest.Versions(t, &cli.App{Name: "test"}) }
