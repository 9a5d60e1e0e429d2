package browsertest

import (
	"testing"
)

// The virtual authenticator answers navigator.credentials on an App served
// as localhost (an IP address cannot be a WebAuthn RP ID), and keeps a
// discoverable credential (passkey) for the RP.
func TestVirtualAuthenticator(t *testing.T) {
	h := New(t, Options{Host: "localhost"})
	auth := h.AddVirtualAuthenticator()
	h.Navigate("/signin")

	var created struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	h.Eval(`navigator.credentials.create({publicKey: {
		challenge: crypto.getRandomValues(new Uint8Array(32)),
		rp: {name: "idcenter", id: "localhost"},
		user: {id: new Uint8Array([1, 2, 3, 4]), name: "alice", displayName: "Alice"},
		pubKeyCredParams: [{type: "public-key", alg: -7}],
		authenticatorSelection: {residentKey: "required", userVerification: "required"},
	}}).then(c => ({type: c.type, id: c.id}))`, &created)
	if created.Type != "public-key" || created.ID == "" {
		t.Fatalf("create: %+v", created)
	}
	creds := auth.Credentials()
	if len(creds) != 1 || creds[0].RPID != "localhost" || !creds[0].Resident {
		t.Fatalf("credentials: %+v", creds)
	}

	var asserted string
	h.Eval(`navigator.credentials.get({publicKey: {
		challenge: crypto.getRandomValues(new Uint8Array(32)), rpId: "localhost",
		userVerification: "required"}}).then(c => c.id)`, &asserted)
	if asserted != created.ID {
		t.Fatalf("get: %q, want %q", asserted, created.ID)
	}

	// Failing user verification makes the ceremony fail.
	auth.SetUserVerified(false)
	var failed string
	h.Eval(`navigator.credentials.get({publicKey: {
		challenge: crypto.getRandomValues(new Uint8Array(32)), rpId: "localhost",
		userVerification: "required", timeout: 2000}}).then(() => "", e => e.name)`, &failed)
	if failed != "NotAllowedError" {
		t.Fatalf("get without user verification: %q, want NotAllowedError", failed)
	}
}
