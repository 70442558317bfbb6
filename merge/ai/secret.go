package ai

import (
	"bytes"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// secretName reports whether a path looks like it holds secrets, going by
// its name and the directories above it (case-insensitive): .env files,
// keys and certificates, ssh and gpg material, password and credential
// files. Such files are never sent.
func secretName(p string) bool {
	p = strings.ToLower(p)
	dir, name := path.Split(p)
	for d := range strings.SplitSeq(strings.TrimSuffix(dir, "/"), "/") {
		switch d {
		case ".ssh", ".gnupg", ".password-store":
			return true
		}
	}
	switch name {
	case ".netrc", "_netrc", ".pgpass", ".git-credentials", ".htpasswd", ".npmrc", ".pypirc":
		return true
	}
	for _, prefix := range []string{".env", "id_", "credentials"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	switch path.Ext(name) {
	case ".pem", ".key", ".p12", ".pfx", ".ppk", ".jks", ".keystore", ".kdbx":
		return true
	}
	return false
}

// secretContent matches content that holds a private key or a token in a
// well-known format.
var secretContent = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----` +
	`|\bAKIA[0-9A-Z]{16}\b` + // AWS access key id
	`|\bgh[pousr]_[A-Za-z0-9]{36,}` + // GitHub token
	`|\bsk-ant-[A-Za-z0-9_-]{20,}` + // Anthropic API key
	`|\bxox[abprs]-[A-Za-z0-9-]{10,}`) // Slack token

// refusal says why content must not be sent, or "" when it may be.
func refusal(b []byte) string {
	switch {
	case bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b):
		return "binary content"
	case secretContent.Match(b):
		return "content holds a private key or token"
	}
	return ""
}
