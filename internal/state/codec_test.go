package state

import (
	"errors"
	"testing"
	"time"
)

func TestDecoderPrimitives(t *testing.T) {
	var e encoder
	e.U8(7)
	e.Uvarint(300)
	e.Varint(-5)
	e.Str("héllo")
	when := time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)
	e.Time(when)
	e.digest(sum("x"))

	d := newDecoder(e.B)
	if v := d.U8(""); v != 7 {
		t.Errorf("u8 = %d", v)
	}
	if v := d.Uvarint(""); v != 300 {
		t.Errorf("uvarint = %d", v)
	}
	if v := d.Varint(""); v != -5 {
		t.Errorf("varint = %d", v)
	}
	if v := d.Str("s", 16); v != "héllo" {
		t.Errorf("str = %q", v)
	}
	if v := d.Time(""); !v.Equal(when) {
		t.Errorf("time = %v", v)
	}
	if v := d.digest(); v != sum("x") {
		t.Errorf("digest = %v", v)
	}
	if err := d.end(); err != nil {
		t.Errorf("end: %v", err)
	}
}

func TestDecoderRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		read func(*decoder)
	}{
		{"empty u8", nil, func(d *decoder) { d.U8("") }},
		{"short uvarint", []byte{0x80}, func(d *decoder) { d.Uvarint("") }},
		{"overlong uvarint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(d *decoder) { d.Uvarint("") }},
		{"short varint", []byte{0x80}, func(d *decoder) { d.Varint("") }},
		{"short digest", make([]byte, 31), func(d *decoder) { d.digest() }},
		{"string over its cap", []byte{5, 'a', 'b', 'c', 'd', 'e'}, func(d *decoder) { d.Str("s", 4) }},
		// A length of 2^63 must be refused before anything is allocated.
		{"huge string length", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, func(d *decoder) { d.Str("s", 1<<30) }},
		{"string longer than input", []byte{3, 'a'}, func(d *decoder) { d.Str("s", 10) }},
		{"nanoseconds out of range", []byte{0, 0x80, 0x94, 0xeb, 0xdc, 0x03}, func(d *decoder) { d.Time("") }},
		{"trailing bytes", []byte{1, 2}, func(d *decoder) { d.U8("") }},
	} {
		d := newDecoder(c.in)
		c.read(&d)
		if err := d.end(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", c.name, err)
		}
	}
}

func TestSeqKeysSortNumerically(t *testing.T) {
	prev := seqKey(0)
	for _, n := range []uint64{1, 255, 256, 1 << 32, 1<<64 - 1} {
		k := seqKey(n)
		if string(k) <= string(prev) {
			t.Errorf("key of %d does not sort after the previous one", n)
		}
		if m, ok := keySeq(k); !ok || m != n {
			t.Errorf("keySeq(seqKey(%d)) = %d, %v", n, m, ok)
		}
		prev = k
	}
	if _, ok := keySeq([]byte("short")); ok {
		t.Errorf("keySeq accepted a 5-byte key")
	}
}
