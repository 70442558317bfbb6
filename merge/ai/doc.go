// Package ai is an opt-in resolver that asks a Claude model, through the
// Messages API, to merge two versions of a text file that a line merge
// could not.
//
// It sends nothing unless it has an API key (an option or the
// ANTHROPIC_API_KEY environment variable), and even then never sends files
// that look like secrets, binaries, or files over a size limit. Its answer
// is checked like any other merge before it is used: no conflict markers,
// sensible size, and valid syntax for the formats it knows. Whatever it
// cannot settle it passes on, so it belongs before the archive-and-review
// resolver:
//
//	r, err := ai.New()
//	diff3, err := merge.Diff3()
//	...
//	chain := merge.Chain(merge.Identical(), diff3, r, merge.KeepBoth(zerosync.VersionOurs))
//
// The client's deadline comes from ctx and [WithTimeout]; rate limits and
// server errors are retried with backoff ([WithMaxRetries]).
package ai
