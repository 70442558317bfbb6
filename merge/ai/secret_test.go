package ai

import "testing"

func TestSecretName(t *testing.T) {
	for _, p := range []string{
		".env", ".env.production", "svc/.ENV", ".envrc", "a/b/server.pem", "server.key", "id_rsa", "id_ed25519.pub",
		"x/store.p12", "store.PFX", "putty.ppk", ".netrc", "_netrc", ".pgpass", "credentials", "credentials.json",
		".aws/credentials", "home/.ssh/known_hosts", ".gnupg/pubring.kbx", ".git-credentials", ".npmrc", ".pypirc",
		"web/.htpasswd", "release.jks", "vault.kdbx", "docs/credentials-howto.md",
	} {
		if !secretName(p) {
			t.Errorf("secretName(%q) = false, want true", p)
		}
	}
	for _, p := range []string{
		"environment.md", "src/env.go", "keyboard.txt", "keys/README", "monkey.go", "my_id_card.txt",
		"ssh/config.txt", "Dockerfile", ".bashrc", "a.key.txt",
	} {
		if secretName(p) {
			t.Errorf("secretName(%q) = true, want false", p)
		}
	}
}

func TestRefusal(t *testing.T) {
	for in, refused := range map[string]bool{
		"plain text\n":                             false,
		"-----BEGIN PUBLIC KEY-----\n":             false,
		"-----BEGIN CERTIFICATE-----\n":            false,
		"-----BEGIN PRIVATE KEY-----\n":            true,
		"x\n-----BEGIN EC PRIVATE KEY-----\n":      true,
		"-----BEGIN ENCRYPTED PRIVATE KEY-----":    true,
		"-----BEGIN PGP PRIVATE KEY BLOCK-----\n":  true,
		"aws_access_key_id = AKIAABCDEFGHIJKLMNOP": true,
		"AKIA is an abbreviation":                  false,
		"sk-ant-api03-abcdefghijklmnopqrstuvwx":    true,
		"\x00":                                     true,
		"\xc3":                                     true,
	} {
		if got := refusal([]byte(in)) != ""; got != refused {
			t.Errorf("refusal(%q) = %v, want %v", in, got, refused)
		}
	}
}
