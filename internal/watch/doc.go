// Package watch turns file-system notifications for a directory tree into
// debounced [zerosync.Hint] values. It is the inotify half of a local
// endpoint's [zerosync.Watcher]. [Run] watches a tree for one caller;
// [Shared] watches it for any number of concurrent callers with one
// inotify instance.
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
// event, the path is ready. Ready paths are delivered together in one hint
// with Reason "watch" once a window passed without an event on any path,
// so a burst of writes to many files (an editor saving, a checkout) goes
// out whole and is synced in one cycle; events that go on elsewhere hold a
// ready path back by at most two more windows. One timer, set for the next
// delivery, drives it, so there is no polling delay.
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
// # Limits and polling
//
// Each watcher uses one inotify instance, counted against
// /proc/sys/fs/inotify/max_user_instances (sysctl
// fs.inotify.max_user_instances, 128 by default and shared by every
// process of the user), and each watched directory one inotify watch,
// counted against /proc/sys/fs/inotify/max_user_watches. When the kernel
// refuses either, at the start or later (a new directory that cannot be
// watched), [Run] does not stop: it releases its instance, logs a warning
// naming the limit and the sysctl command that raises it (once; later
// fallbacks are logged at Info), and polls the tree instead.
//
// Polling walks the tree every [Options.Poll] ([DefaultPoll] by default;
// when a walk is slow, at most a tenth of the time is spent walking),
// compares each path's inode, mode, size, modification and change times
// with the last walk, and reports the paths that differ, debounced and
// filtered by Echo like events, in hints with Reason "poll"; more than
// 4096 changed paths make one Hint{Full: true, Reason: "poll"} instead. A
// fallback that happens after Ready delivers Hint{Full: true, Reason:
// "poll"} at once, since events may have been lost; one at the start calls
// Ready after the first walk, so a change made after Ready is reported by
// the next poll. While polling, [Run] tries inotify again after a minute,
// then after doubling waits of up to 30 minutes, and goes back to it when
// the kernel allows.
package watch
