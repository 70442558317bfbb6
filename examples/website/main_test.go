package main

import (
	"testing"

	"github.com/zerosync/zerosync/app/apptest"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }
