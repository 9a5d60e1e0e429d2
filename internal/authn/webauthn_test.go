package authn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

const testOrigin = "https://idp.example.com"

var testRP = virtualwebauthn.RelyingParty{ID: "idp.example.com", Name: "Test IdP", Origin: testOrigin}

// key is a virtual authenticator holding one credential.
type key struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newKey(u directory.User) *key {
	return &key{
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(u.ID)}),
		cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key()),
	}
}

// p256Key returns a PKCS #8 P-256 key whose coordinates are both 32 bytes
// long: virtualwebauthn encodes them without their leading zeros, which
// go-webauthn rightly refuses (about one key in 128 otherwise).
func p256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}
}

// attest answers a registration ceremony as rp.
func (k *key) attest(t *testing.T, c authn.Ceremony, rp virtualwebauthn.RelyingParty) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(c.Options))
	if err != nil {
		t.Fatalf("attestation options: %v\n%s", err, c.Options)
	}
	return []byte(virtualwebauthn.CreateAttestationResponse(rp, k.auth, k.cred, *opts))
}

// assert answers an authentication ceremony as rp.
func (k *key) assert(t *testing.T, c authn.Ceremony, rp virtualwebauthn.RelyingParty) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(c.Options))
	if err != nil {
		t.Fatalf("assertion options: %v\n%s", err, c.Options)
	}
	return []byte(virtualwebauthn.CreateAssertionResponse(rp, k.auth, k.cred, *opts))
}

// register adds k to u's credentials through the profile.
func (e *mfaEnv) register(u directory.User, k *key, name string) {
	e.t.Helper()
	c, err := e.mfa.BeginRegisterWebAuthn(e.ctx, u, "sess-"+u.ID, name, mfaPassword, mfaClient)
	if err != nil {
		e.t.Fatalf("begin registration: %v", err)
	}
	if err := e.mfa.FinishRegisterWebAuthn(e.ctx, u, "sess-"+u.ID, c.ID, k.attest(e.t, c, testRP), mfaClient); err != nil {
		e.t.Fatalf("finish registration: %v", err)
	}
}

// signInKey runs the security-key step of a new pending sign-in with body
// made by answer.
func (e *mfaEnv) signInKey(u directory.User, answer func(c authn.Ceremony) []byte) (authn.MFAOutcome, error) {
	e.t.Helper()
	out := e.password(u, "")
	c, err := e.mfa.BeginWebAuthnSignIn(e.ctx, out.Pending)
	if err != nil {
		e.t.Fatalf("begin sign-in: %v", err)
	}
	return e.mfa.FinishWebAuthnSignIn(e.ctx, out.Pending, c.ID, answer(c), mfaClient, "")
}

func TestWebAuthnConfig(t *testing.T) {
	for _, c := range []struct {
		url    string
		ok     bool
		rpid   string
		origin string
	}{
		{"https://idp.example.com", true, "idp.example.com", "https://idp.example.com"},
		{"https://idp.example.com:8443", true, "idp.example.com", "https://idp.example.com:8443"},
		{"http://localhost:8080", true, "localhost", "http://localhost:8080"},
		{"https://idp.example.com/base", true, "idp.example.com", "https://idp.example.com"},
		{"http://127.0.0.1:8080", false, "", ""},
		{"ftp://idp.example.com", false, "", ""},
		{"", false, "", ""},
	} {
		wa, err := authn.NewWebAuthn(c.url, "x")
		if (err == nil) != c.ok {
			t.Fatalf("%q: %v", c.url, err)
		}
		if c.ok && (wa.Config.RPID != c.rpid || len(wa.Config.RPOrigins) != 1 || wa.Config.RPOrigins[0] != c.origin || wa.Config.MDS != nil) {
			t.Fatalf("%q: %+v", c.url, wa.Config)
		}
	}
}

func TestWebAuthnRegisterAndSignIn(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		k := newKey(alice)

		if _, err := e.mfa.BeginRegisterWebAuthn(e.ctx, alice, "s", "x", "wrong password", mfaClient); !errors.Is(err, authn.ErrReauthFailed) {
			t.Fatalf("wrong password: %v", err)
		}
		e.register(alice, k, "  My\tYubiKey \x00 ")
		f, err := e.mfa.Factors(e.ctx, alice.ID)
		if err != nil || len(f.WebAuthn) != 1 || f.WebAuthn[0].Name != "My YubiKey" || f.WebAuthn[0].LastUsed != nil {
			t.Fatalf("factors %+v %v", f, err)
		}
		// the stored data is the JSON of webauthn.Credential
		var data string
		if err := st.DB().QueryRowContext(e.ctx, `SELECT data FROM webauthn_credentials WHERE user_id = $1`, alice.ID).Scan(&data); err != nil {
			t.Fatal(err)
		}
		var stored struct {
			ID            []byte          `json:"id"`
			PublicKey     []byte          `json:"publicKey"`
			Flags         map[string]bool `json:"flags"`
			Authenticator struct {
				SignCount uint32 `json:"signCount"`
			} `json:"authenticator"`
		}
		if err := json.Unmarshal([]byte(data), &stored); err != nil || len(stored.PublicKey) == 0 || stored.Flags == nil {
			t.Fatalf("stored credential %s: %v", data, err)
		}
		if _, ok := stored.Flags["backupEligible"]; !ok {
			t.Fatalf("BE flag not stored: %s", data)
		}

		k.cred.Counter = 5
		res, err := e.signInKey(alice, func(c authn.Ceremony) []byte { return k.assert(t, c, testRP) })
		if err != nil {
			t.Fatal(err)
		}
		if !res.Session.MFA || strings.Join(res.Session.Methods, ",") != "PASSWORD,WEBAUTHN" {
			t.Fatalf("session %+v", res.Session)
		}
		if err := st.DB().QueryRowContext(e.ctx, `SELECT data FROM webauthn_credentials WHERE user_id = $1`, alice.ID).Scan(&data); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(data, `"signCount":5`) {
			t.Fatalf("sign count not stored: %s", data)
		}
		if f, _ := e.mfa.Factors(e.ctx, alice.ID); f.WebAuthn[0].LastUsed == nil {
			t.Fatal("last use not recorded")
		}
		if !e.hasEvent(alice.ID, "mfa.webauthn.register", nil) {
			t.Fatal("no mfa.webauthn.register event")
		}
		// the same credential cannot be registered twice (to anyone)
		bob := e.user("bob", "")
		e.totpSecret(bob)
		c, err := e.mfa.BeginRegisterWebAuthn(e.ctx, bob, "sess-b", "stolen", mfaPassword, mfaClient)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.mfa.FinishRegisterWebAuthn(e.ctx, bob, "sess-b", c.ID, k.attest(t, c, testRP), mfaClient); !errors.Is(err, authn.ErrCredentialExists) {
			t.Fatalf("credential bound to another user: %v", err)
		}
		// removal: another user's key is not found; the right password is needed
		keyID := f.WebAuthn[0].ID
		if err := e.mfa.RemoveWebAuthn(e.ctx, bob, keyID, mfaPassword, mfaClient); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("bob removing alice's key: %v", err)
		}
		if err := e.mfa.RemoveWebAuthn(e.ctx, alice, keyID, "bad password", mfaClient); !errors.Is(err, authn.ErrReauthFailed) {
			t.Fatalf("wrong password: %v", err)
		}
		if err := e.mfa.RemoveWebAuthn(e.ctx, alice, keyID, mfaPassword, mfaClient); err != nil {
			t.Fatal(err)
		}
		if !e.hasEvent(alice.ID, "mfa.webauthn.remove", nil) {
			t.Fatal("no mfa.webauthn.remove event")
		}
	})
}

// tamper re-encodes one base64url field of the response JSON after f changes it.
func tamper(t *testing.T, body []byte, field string, f func([]byte) []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	resp := m["response"].(map[string]any)
	raw, err := base64.RawURLEncoding.DecodeString(resp[field].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp[field] = base64.RawURLEncoding.EncodeToString(f(raw))
	out, _ := json.Marshal(m)
	return out
}

// TestWebAuthnAssertionNegatives mutates genuine assertions (WEB-16).
func TestWebAuthnAssertionNegatives(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		e.auth.Lockout.MaxFailures = 1000
		alice, bob := e.user("alice", ""), e.user("bob", "")
		ka, kb := newKey(alice), newKey(bob)
		e.register(alice, ka, "alice key")
		e.register(bob, kb, "bob key")
		with := func(rp virtualwebauthn.RelyingParty) func(authn.Ceremony) []byte {
			return func(c authn.Ceremony) []byte { return ka.assert(t, c, rp) }
		}
		cases := []struct {
			name   string
			answer func(authn.Ceremony) []byte
		}{
			{"wrong origin", with(virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://evil.example"})},
			{"http origin", with(virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "http://idp.example.com"})},
			{"other port", with(virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://idp.example.com:8443"})},
			{"subdomain origin", with(virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://evil.idp.example.com"})},
			{"wrong RP ID", with(virtualwebauthn.RelyingParty{ID: "evil.example", Origin: testOrigin})},
			{"credential of another user", func(c authn.Ceremony) []byte { return kb.assert(t, c, testRP) }},
			{"user not present", func(c authn.Ceremony) []byte {
				k := *ka
				k.auth.Options.UserNotPresent = true
				return k.assert(t, c, testRP)
			}},
			{"flipped bit in authenticator data", func(c authn.Ceremony) []byte {
				return tamper(t, ka.assert(t, c, testRP), "authenticatorData", func(b []byte) []byte { b[33] ^= 0x80; return b })
			}},
			{"type webauthn.create", func(c authn.Ceremony) []byte {
				return tamper(t, ka.assert(t, c, testRP), "clientDataJSON", func(b []byte) []byte {
					return []byte(strings.Replace(string(b), "webauthn.get", "webauthn.create", 1))
				})
			}},
			{"cross origin", func(c authn.Ceremony) []byte {
				return tamper(t, ka.assert(t, c, testRP), "clientDataJSON", func(b []byte) []byte {
					return []byte(strings.Replace(string(b), `}`, `,"crossOrigin":true}`, 1))
				})
			}},
			{"garbage", func(authn.Ceremony) []byte { return []byte(`{"id":"x","type":"public-key"}`) }},
			{"empty", func(authn.Ceremony) []byte { return nil }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := e.signInKey(alice, c.answer); !errors.Is(err, authn.ErrMFAFailed) {
					t.Fatalf("accepted or wrong error: %v", err)
				}
				e.clock.Add(authn.MFAWindow + time.Second) // keep the MFA step unlocked for the next case
			})
		}
		if !e.hasEvent(alice.ID, "signin.failure", credIs(authn.CredWebAuthn)) {
			t.Fatal("no signin.failure with WEBAUTHN")
		}

		t.Run("challenge is single use, even after a failure", func(t *testing.T) {
			out := e.password(alice, "")
			c, err := e.mfa.BeginWebAuthnSignIn(e.ctx, out.Pending)
			if err != nil {
				t.Fatal(err)
			}
			good := ka.assert(t, c, testRP)
			if _, err := e.mfa.FinishWebAuthnSignIn(e.ctx, out.Pending, c.ID, []byte("{}"), mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatal(err)
			}
			if _, err := e.mfa.FinishWebAuthnSignIn(e.ctx, out.Pending, c.ID, good, mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("a used challenge answered again: %v", err)
			}
		})
		t.Run("replayed response", func(t *testing.T) {
			e.clock.Add(authn.MFAWindow + time.Second)
			var replay []byte
			if _, err := e.signInKey(alice, func(c authn.Ceremony) []byte { replay = ka.assert(t, c, testRP); return replay }); err != nil {
				t.Fatal(err)
			}
			if _, err := e.signInKey(alice, func(authn.Ceremony) []byte { return replay }); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("replayed response: %v", err)
			}
		})
		t.Run("challenge of another pending sign-in", func(t *testing.T) {
			e.clock.Add(authn.MFAWindow + time.Second)
			p1, p2 := e.password(alice, "").Pending, e.password(alice, "").Pending
			c, err := e.mfa.BeginWebAuthnSignIn(e.ctx, p1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.mfa.FinishWebAuthnSignIn(e.ctx, p2, c.ID, ka.assert(t, c, testRP), mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("ceremony of another sign-in: %v", err)
			}
		})
		t.Run("expired challenge", func(t *testing.T) {
			e.clock.Add(authn.MFAWindow + time.Second)
			out := e.password(alice, "")
			c, err := e.mfa.BeginWebAuthnSignIn(e.ctx, out.Pending)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Add(authn.CeremonyTTL + time.Second)
			if _, err := e.mfa.FinishWebAuthnSignIn(e.ctx, out.Pending, c.ID, ka.assert(t, c, testRP), mfaClient, ""); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("expired challenge: %v", err)
			}
		})
		t.Run("sign count regression", func(t *testing.T) {
			e.clock.Add(authn.MFAWindow + time.Second)
			ka.cred.Counter = 10
			if _, err := e.signInKey(alice, func(c authn.Ceremony) []byte { return ka.assert(t, c, testRP) }); err != nil {
				t.Fatal(err)
			}
			ka.cred.Counter = 7 // a clone that lags behind
			if _, err := e.signInKey(alice, func(c authn.Ceremony) []byte { return ka.assert(t, c, testRP) }); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("sign count regression: %v", err)
			}
			if !e.hasEvent(alice.ID, "signin.failure", func(s map[string]any) bool {
				r, _ := s["reason"].(string)
				return strings.Contains(r, "sign count")
			}) {
				t.Fatal("regression not audited")
			}
			ka.cred.Counter = 11
			if _, err := e.signInKey(alice, func(c authn.Ceremony) []byte { return ka.assert(t, c, testRP) }); err != nil {
				t.Fatalf("the real key after the regression: %v", err)
			}
		})
	})
}

// TestWebAuthnRegistrationNegatives (WEB-17).
func TestWebAuthnRegistrationNegatives(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		cases := []struct {
			name  string
			rp    virtualwebauthn.RelyingParty
			begin string // session binding of the ceremony
			end   string
		}{
			{"wrong origin", virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://evil.example"}, "s1", "s1"},
			{"wrong RP ID", virtualwebauthn.RelyingParty{ID: "evil.example", Origin: testOrigin}, "s1", "s1"},
			{"ceremony of another session", testRP, "s1", "s2"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				k := newKey(alice)
				cer, err := e.mfa.BeginRegisterWebAuthn(e.ctx, alice, c.begin, "k", mfaPassword, mfaClient)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.mfa.FinishRegisterWebAuthn(e.ctx, alice, c.end, cer.ID, k.attest(t, cer, c.rp), mfaClient); !errors.Is(err, authn.ErrMFAFailed) {
					t.Fatalf("accepted: %v", err)
				}
			})
		}
		t.Run("replayed challenge", func(t *testing.T) {
			k := newKey(alice)
			cer, err := e.mfa.BeginRegisterWebAuthn(e.ctx, alice, "s1", "k", mfaPassword, mfaClient)
			if err != nil {
				t.Fatal(err)
			}
			body := k.attest(t, cer, testRP)
			if err := e.mfa.FinishRegisterWebAuthn(e.ctx, alice, "s1", cer.ID, body, mfaClient); err != nil {
				t.Fatal(err)
			}
			k2 := newKey(alice)
			if err := e.mfa.FinishRegisterWebAuthn(e.ctx, alice, "s1", cer.ID, k2.attest(t, cer, testRP), mfaClient); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("challenge reused: %v", err)
			}
		})
		t.Run("a WebAuthn.get answer to a create ceremony", func(t *testing.T) {
			k := newKey(alice)
			cer, err := e.mfa.BeginRegisterWebAuthn(e.ctx, alice, "s1", "k", mfaPassword, mfaClient)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.mfa.FinishRegisterWebAuthn(e.ctx, alice, "s1", cer.ID, k.assert(t, cer, testRP), mfaClient); !errors.Is(err, authn.ErrMFAFailed) {
				t.Fatalf("accepted: %v", err)
			}
		})
		t.Run("per-user cap", func(t *testing.T) {
			f, _ := e.mfa.Factors(e.ctx, alice.ID)
			for i := len(f.WebAuthn); i < authn.MaxWebAuthnCredentials; i++ {
				e.register(alice, newKey(alice), "k")
			}
			if _, err := e.mfa.BeginRegisterWebAuthn(e.ctx, alice, "s1", "k", mfaPassword, mfaClient); !errors.Is(err, authn.ErrTooManyCredentials) {
				t.Fatalf("over the cap: %v", err)
			}
		})
	})
}

func TestWebAuthnEnrolDuringSignIn(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		k := newKey(alice)
		out := e.password(alice, "")
		if !out.Enrol {
			t.Fatal("expected enrolment")
		}
		if _, err := e.mfa.BeginWebAuthnSignIn(e.ctx, out.Pending); !errors.Is(err, authn.ErrTokenInvalid) {
			t.Fatalf("sign-in ceremony on an enrolment: %v", err)
		}
		c, err := e.mfa.BeginEnrolWebAuthn(e.ctx, out.Pending, "Laptop")
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.mfa.FinishEnrolWebAuthn(e.ctx, out.Pending, c.ID, k.attest(t, c, testRP), mfaClient, "")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Session.MFA || strings.Join(res.Session.Methods, ",") != "PASSWORD,WEBAUTHN" {
			t.Fatalf("session %+v", res.Session)
		}
		if !e.hasEvent(alice.ID, "mfa.webauthn.register", func(s map[string]any) bool { return s["during"] == "signin" && s["name"] == "Laptop" }) {
			t.Fatal("no register event")
		}
		// With a factor present, a new pending sign-in is an MFA step, not an enrolment.
		out = e.password(alice, "")
		if out.Enrol {
			t.Fatal("asked to enrol again")
		}
		if _, err := e.mfa.BeginEnrolWebAuthn(e.ctx, out.Pending, "x"); !errors.Is(err, authn.ErrTokenInvalid) {
			t.Fatalf("enrol with a factor: %v", err)
		}
	})
}

func TestPasskeySignIn(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, st *sqlstore.Store) {
		e := newMFAEnv(t, st, always())
		alice := e.user("alice", "")
		k := newKey(alice)
		e.register(alice, k, "Phone")
		if _, err := e.mfa.BeginPasskeySignIn(e.ctx); !errors.Is(err, authn.ErrPasskeyDisabled) {
			t.Fatalf("disabled: %v", err)
		}
		e.mfa.Policy.PasskeySignIn = true
		passkey := func(k *key) (authn.MFAOutcome, error) {
			c, err := e.mfa.BeginPasskeySignIn(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(c.Options), "allowCredentials") || !strings.Contains(string(c.Options), `"userVerification":"required"`) {
				t.Fatalf("options %s", c.Options)
			}
			return e.mfa.FinishPasskeySignIn(e.ctx, c.ID, k.assert(t, c, testRP), mfaClient, "")
		}
		res, err := passkey(k)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Session.MFA || strings.Join(res.Session.Methods, ",") != "WEBAUTHN" || res.User.ID != alice.ID {
			t.Fatalf("outcome %+v", res)
		}
		unverified := *k
		unverified.auth.Options.UserNotVerified = true
		if _, err := passkey(&unverified); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("no user verification: %v", err)
		}
		stranger := newKey(directory.User{ID: "00000000-0000-0000-0000-000000000000"})
		if _, err := passkey(stranger); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("unknown passkey: %v", err)
		}
		// a passkey whose user handle names alice but whose key is not hers
		impostor := newKey(alice)
		if _, err := passkey(impostor); !errors.Is(err, authn.ErrMFAFailed) {
			t.Fatalf("impostor: %v", err)
		}
	})
}
