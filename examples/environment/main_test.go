package main

import (
	"testing"

	"github.com/zerosync/zerosync/internal/cli/clitest"
)

func TestSmoke(t *testing.T) { clitest.Smoke(t, newApp()) }

func TestVersions(t *testing.T) { clitest.Versions(t, newApp()) }
