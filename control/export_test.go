package control

import "github.com/zerosync/zerosync/internal/ctlsock"

// CheckDir is checkDir, for testing the ownership check without a second
// user.
func CheckDir(dir string, uid int) error { return ctlsock.CheckDir(dir, uid, owner) }

// Marshal is marshal: JSON as the API writes it.
var Marshal = marshal
