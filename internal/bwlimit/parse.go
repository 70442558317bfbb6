package bwlimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxRate bounds what [Parse] accepts: 1 TiB a second, far beyond any link,
// and far from the limits of the arithmetic.
const MaxRate = 1 << 40

// units are the suffixes of a rate, lower case, as rsync's --bwlimit and
// --max-size take them: K, M, G and T (and KiB, MiB, GiB, TiB) count in
// powers of 1024, KB, MB, GB and TB in powers of 1000, and B counts bytes.
// A number without a suffix counts KiB, as with rsync.
var units = map[string]float64{
	"": 1 << 10, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// Parse reads a bandwidth limit as rsync's --bwlimit takes it: a number,
// perhaps with a fraction, then a unit (any case): none or K for KiB,
// M for MiB, G for GiB, KB, MB and GB for powers of 1000, B for bytes;
// "1.5M" is 1572864 bytes a second, "500" is 500 KiB. rsync's "+1" and
// "-1" offsets are not taken. It returns bytes a second, rounded down; 0
// means no limit. A rate that is negative, not a number, or over
// [MaxRate] is an error that quotes what was given.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("bandwidth limit %q is negative (0 means no limit)", s)
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("bandwidth limit %q: unknown unit %q (want B, K, M, G, KB, MB or GB)", s, t[i:])
	}
	if num == "" || strings.Count(num, ".") > 1 || num == "." {
		return 0, fmt.Errorf("bandwidth limit %q: not a number of bytes a second (like 500K or 2M)", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bandwidth limit %q: %w", s, err)
	}
	r := math.Floor(v * mult)
	if r > MaxRate {
		return 0, fmt.Errorf("bandwidth limit %q is over the most taken, %d bytes a second", s, int64(MaxRate))
	}
	return int64(r), nil
}

// Format writes a rate in bytes a second for people, in the largest
// binary unit that keeps it at one or more: "512KiB/s", "1.5MiB/s".
func Format(bytesPerSecond int64) string {
	v, u := float64(bytesPerSecond), "B"
	for _, next := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, u = v/1024, next
	}
	return fmt.Sprintf("%.4g%s/s", v, u)
}
