package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// median returns the middle value of xs (the mean of the two middle values
// for an even count), or NaN for none.
func median(xs []float64) float64 {
	return percentile(xs, 50)
}

// percentile returns the p-th percentile of xs (0..100) by linear
// interpolation between the closest ranks, or NaN for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(r))
	hi := int(math.Ceil(r))
	return s[lo] + (s[hi]-s[lo])*(r-float64(lo))
}

// unit says how a figure's value is written.
type unit uint8

const (
	unitSeconds unit = iota
	unitBytes
	unitRate  // bytes per second
	unitCores // CPU seconds per second
)

// fmtValue writes v in u, with three significant digits.
func fmtValue(v float64, u unit) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch u {
	case unitBytes:
		return fmtBytes(v)
	case unitRate:
		return fmtBytes(v) + "/s"
	case unitCores:
		return sig3(v) + " cores"
	}
	switch {
	case v < 1e-3:
		return sig3(v*1e6) + " µs"
	case v < 1:
		return sig3(v*1e3) + " ms"
	}
	return sig3(v) + " s"
}

// fmtBytes writes a byte count in B, KiB, MiB or GiB.
func fmtBytes(v float64) string {
	switch {
	case v < 1024:
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	case v < 1<<20:
		return sig3(v/1024) + " KiB"
	case v < 1<<30:
		return sig3(v/(1<<20)) + " MiB"
	}
	return sig3(v/(1<<30)) + " GiB"
}

// sig3 writes v with three significant digits (more for large integers).
func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ratio writes a/b as "0.42×".
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
