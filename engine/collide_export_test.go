package engine

import "github.com/zerosync/zerosync"

// FoldKey is foldKey, for the fakes of folding endpoints.
func FoldKey(name string, f zerosync.Folding) string { return foldKey(name, f) }
