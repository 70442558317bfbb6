package chunk

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChunk: every string handed out keeps its bytes while many more are
// made after it, in chunks that grow, and a string too large for any chunk
// gets one of its own.
func TestChunk(t *testing.T) {
	var c Chunks
	var got, want []string
	for i := range 5000 {
		dir := fmt.Sprintf("d%d", i%7)
		if i%3 == 0 {
			dir = ""
		}
		name := fmt.Sprintf("f%05d.txt", i)
		got = append(got, c.Join(dir, []byte(name)), c.Clone(name))
		if dir != "" {
			name = dir + "/" + name
		}
		want = append(want, name, fmt.Sprintf("f%05d.txt", i))
	}
	big := string(make([]byte, 40<<10))
	got, want = append(got, c.Clone(big), c.Join("", nil), c.Clone("")), append(want, big, "", "")
	require.Equal(t, want, got)
	require.LessOrEqual(t, cap(c.b), 40<<10)
}

// TestSealKeepsNoSpareRoom: a folder grown one value at a time is sealed
// into a slice of its size, not into the grown one with its spare room.
func TestSealKeepsNoSpareRoom(t *testing.T) {
	f := Folders[int]{}
	var c Chunks
	for i := range 1000 {
		f.Add(fmt.Sprintf("d/f%04d", 999-i), i, &c)
	}
	require.Greater(t, cap(f["d"]), len(f["d"]))
	sealed, twice := f.Seal(&c)
	require.Empty(t, twice)
	d := sealed["d"]
	require.Len(t, d, 1000)
	require.Equal(t, len(d), cap(d))
	require.Equal(t, "f0000", d[0].Name)
	require.Equal(t, 999, d[0].V)
}

// TestSortByName: values follow their names into name order, whatever the
// order they came in, and the scratch space is handed back for reuse.
func TestSortByName(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var order []int32
	for n := range 60 {
		d := make([]Named[int], n)
		for i := range d {
			d[i] = Named[int]{Name: fmt.Sprintf("n%03d", i), V: i}
		}
		rng.Shuffle(n, func(i, j int) { d[i], d[j] = d[j], d[i] })
		order = sortByName(d, order)
		for i, e := range d {
			require.Equal(t, Named[int]{Name: fmt.Sprintf("n%03d", i), V: i}, e, "n=%d", n)
		}
	}
}
