// Package unnamed makes files that have no name: removed as soon as made,
// they live as long as they are open, no other process can open them,
// and nothing is left of them after a crash.
package unnamed

import "os"

// Create makes a new file in dir (named after pattern, as by
// [os.CreateTemp], until it is removed) and returns it open for reading
// and writing, with no name left.
func Create(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
