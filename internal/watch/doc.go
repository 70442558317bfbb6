// Package watch turns file-system notifications for a directory tree into
// debounced [zerosync.Hint] values. It is the inotify half of a local
// endpoint's [zerosync.Watcher]; [Run] is its only entry point.
//
// # Recursion
//
// Inotify watches one directory at a time, so [Run] adds a watch for every
// directory beneath the root when it starts and for every directory created
// or moved in while it runs. Symbolic links are never followed. A directory
// that appears is listed right after its watch is added, and every entry
// found in it is reported: content written before the watch existed is
// reported by the listing, content written after it by inotify, so nothing
// falls between the two. A directory removed or moved away loses its watches
// together with those of its descendants.
//
// # Debounce
//
// An event for a path (re)starts that path's quiet window
// ([Options.Debounce], 3 ms by default). When a window passes without a new
// event, the path is ready; paths that become ready at the same moment are
// delivered together in one hint with Reason "watch". One timer, set for the
// earliest deadline, drives delivery, so there is no polling delay.
//
// # Lost events
//
// When the kernel queue overflows, or inotify reports an error that may have
// lost events, [Run] re-adds its watches from scratch and delivers
// Hint{Full: true, Reason: "overflow"}: anything may have changed.
//
// # Reserved names
//
// Paths with a reserved component ([zerosync.IsReserved]: the state folder,
// temp files, conflict copies) are never reported, and reserved directories
// are never watched.
//
// # Limits
//
// Each watched directory uses one inotify watch, counted against
// /proc/sys/fs/inotify/max_user_watches. When the kernel refuses another
// watch, [Run] returns an error wrapping [ErrWatchLimit]; a caller can then
// fall back to polling.
package watch
