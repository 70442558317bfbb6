package bwlimit

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{
		"0":      0,
		"500":    500 << 10,
		"500K":   500 << 10,
		"500k":   500 << 10,
		"500KiB": 500 << 10,
		"500KB":  500_000,
		"2M":     2 << 20,
		"2m":     2 << 20,
		"2MB":    2_000_000,
		"1.5M":   1572864,
		"1G":     1 << 30,
		"4096B":  4096,
		" 8M ":   8 << 20,
		"0.5":    512,
		".5K":    512,
		"1T":     1 << 40,
	} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for in, msg := range map[string]string{
		"":      "not a number",
		"K":     "not a number",
		"-1":    "negative",
		"1.2.3": "not a number",
		"5X":    "unknown unit",
		"5 MBs": "unknown unit",
		"2T":    "over the most",
		"1e9":   "unknown unit",
	} {
		_, err := Parse(in)
		require.ErrorContains(t, err, msg, in)
		require.Contains(t, err.Error(), strconv.Quote(in), "the error quotes what was given")
	}
}

func TestFormat(t *testing.T) {
	require.Equal(t, "512B/s", Format(512))
	require.Equal(t, "4KiB/s", Format(4096))
	require.Equal(t, "1.5MiB/s", Format(3<<19))
	require.Equal(t, "8MiB/s", Format(8<<20))
}

// FuzzParse: Parse never panics, and what it accepts is a rate within
// bounds that it reads back the same when written in bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "500", "1.5M", "2MB", "4096B", "-1", "1e9", "..", "9999999999999999999G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r < 0 || r > MaxRate {
			t.Fatalf("Parse(%q) = %d, out of bounds", s, r)
		}
		again, err := Parse(strconv.FormatInt(r, 10) + "B")
		if err != nil || again != r {
			t.Fatalf("Parse(%q) = %d, which reads back as %d, %v", s, r, again, err)
		}
	})
}
