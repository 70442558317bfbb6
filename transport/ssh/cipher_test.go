package ssh

import (
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestCipherPreference(t *testing.T) {
	if got := ciphers(true)[0]; got != "aes128-gcm@openssh.com" {
		t.Errorf("with AES instructions the first cipher is %s", got)
	}
	if got := ciphers(false)[0]; got != "chacha20-poly1305@openssh.com" {
		t.Errorf("without AES instructions the first cipher is %s", got)
	}
	supported := ssh.SupportedAlgorithms().Ciphers
	for _, c := range ciphers(true) {
		if !slices.Contains(supported, c) {
			t.Errorf("cipher %s is not supported by the SSH library", c)
		}
	}
	if !slices.Equal(sorted(ciphers(true)), sorted(ciphers(false))) {
		t.Error("the two preferences offer different ciphers")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
