package portal

import (
	"strings"
	"testing"
)

// FuzzDecodeCeremonyRequest: the JSON bodies webauthn.js posts are decoded
// strictly and within bounds, and nothing panics.
func FuzzDecodeCeremonyRequest(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name":"YubiKey","password":"pw"}`, `{"ceremony":"abc","credential":{"id":"x"},"return_to":"/start"}`,
		`{"ceremony":1}`, `{"unknown":true}`, `{}{}`, `{} `, `[]`, `null`, ``, `{"credential":` + strings.Repeat("[", 10000),
		`{"ceremony":"` + strings.Repeat("a", 200) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeCeremonyRequest(b)
		if err != nil {
			return
		}
		if len(req.Ceremony) > 128 || len(req.ReturnTo) > 2048 || len(req.Credential) > maxCeremonyBody {
			t.Fatalf("bounds not enforced: %+v", req)
		}
	})
}

func TestDecodeCeremonyRequest(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{}`, true},
		{`{"ceremony":"abc","credential":{"id":"x"},"return_to":"/start"}`, true},
		{`{"name":"k","password":"p"}`, true},
		{`{"unknown":true}`, false},
		{`{}{}`, false},
		{`[]`, false},
		{``, false},
		{`{"ceremony":"` + strings.Repeat("a", 200) + `"}`, false},
	} {
		if _, err := decodeCeremonyRequest([]byte(c.body)); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.body, err)
		}
	}
}
