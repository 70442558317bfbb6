package ssh

import (
	"golang.org/x/sys/cpu"
)

// Cipher preferences. On a CPU with AES and carry-less multiply
// instructions, AES-GCM is the fastest cipher of the SSH library (measured
// over loopback between two Go ends: 570-815 MB/s for aes128-gcm against
// about 300 MB/s for chacha20-poly1305; against OpenSSH's sshd, see
// BenchmarkCipher); without them chacha20-poly1305 is faster and runs in
// constant time, where software AES does not.
var (
	gcmCiphers    = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}
	chachaCiphers = []string{"chacha20-poly1305@openssh.com"}
	ctrCiphers    = []string{"aes128-ctr", "aes192-ctr", "aes256-ctr"}
)

// ciphers returns the ciphers to offer, best first, for a CPU that has
// (or lacks) AES-GCM instructions.
func ciphers(hasAESGCM bool) []string {
	var out []string
	if hasAESGCM {
		out = append(append(out, gcmCiphers...), chachaCiphers...)
	} else {
		out = append(append(out, chachaCiphers...), gcmCiphers...)
	}
	return append(out, ctrCiphers...)
}

// cpuHasAESGCM reports whether this CPU accelerates AES-GCM.
func cpuHasAESGCM() bool {
	return (cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ) ||
		(cpu.ARM64.HasAES && cpu.ARM64.HasPMULL) ||
		(cpu.S390X.HasAES && cpu.S390X.HasAESGCM)
}
