package control_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
)

// TestPathJSON: a path is a string in JSON when it is UTF-8, an object
// holding its bytes otherwise; both read back exactly.
func TestPathJSON(t *testing.T) {
	for _, p := range []control.Path{"plain.txt", "dir/ünïcode", "bad\xffname", "", "quote\"and\\slash"} {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		if utf8.ValidString(string(p)) {
			assert.Equal(t, byte('"'), b[0], "%s", b)
		} else {
			assert.JSONEq(t, `{"bytes":"YmFk/25hbWU="}`, string(b))
		}
		var back control.Path
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, p, back)
	}
	var p control.Path
	assert.Error(t, json.Unmarshal([]byte(`{"other":1}`), &p))
	assert.Error(t, json.Unmarshal([]byte(`12`), &p))
}

// TestAnswersArePrintable: names that would steer a terminal (C1 controls,
// bidirectional overrides, DEL) are escaped in the JSON the API writes, and
// decode to the same names.
func TestAnswersArePrintable(t *testing.T) {
	ev := control.Event{Kind: control.EventApplied, Action: &control.Action{Path: "evil\u009b2J\u202etxt.exe\x7f\x1b[0m"}}
	b, err := control.Marshal(ev)
	require.NoError(t, err)
	for _, r := range string(b) {
		assert.True(t, r >= 0x20 && r < 0x7f, "unprintable %U in %s", r, b)
	}
	assert.Contains(t, string(b), `\u009b`)
	assert.Contains(t, string(b), `\u202e`)
	var back control.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, ev.Action.Path, back.Action.Path)
}

// FuzzPathJSON: any bytes a daemon or client sends decode without panic,
// and any path survives the trip.
func FuzzPathJSON(f *testing.F) {
	f.Add([]byte(`"a/b"`), "a/b")
	f.Add([]byte(`{"bytes":"/w=="}`), "\xff")
	f.Add([]byte(`{"bytes":null}`), "\u202e")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		var p control.Path
		_ = json.Unmarshal(data, &p)
		var ev control.Event
		_ = json.Unmarshal(data, &ev)
		b, err := control.Marshal(control.Version{Path: control.Path(s)})
		require.NoError(t, err)
		var v control.Version
		require.NoError(t, json.Unmarshal(b, &v))
		require.Equal(t, s, string(v.Path))
	})
}
