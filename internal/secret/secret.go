// Package secret derives the keys of one purpose each (internal request
// signatures, login tokens) from a cluster's shared secret.
package secret

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Derive derives a 32-byte key for the purpose named by label from secret
// with HKDF-SHA256.
func Derive(secret []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, label, 32)
	if err != nil { // only for absurd lengths
		panic("secret: hkdf: " + err.Error())
	}
	return k
}
