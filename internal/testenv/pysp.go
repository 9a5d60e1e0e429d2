package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The SP scripts: each is a small http.server on 127.0.0.1 that runs one
// independent SAML 2.0 service provider implementation from Debian.
//
//go:embed pysp/onelogin_sp.py pysp/pysaml2_sp.py
var pyspFS embed.FS

// PythonPath is Debian's Python, which has the python3-onelogin-saml2 and
// python3-pysaml2 packages (not a pyenv or virtualenv python3).
const PythonPath = "/usr/bin/python3"

// Kinds of Python SP for StartPythonSP.
const (
	PySPOneLogin = "onelogin" // python3-onelogin-saml2 (module onelogin.saml2)
	PySPPySAML2  = "pysaml2"  // python3-pysaml2 (module saml2)
)

var pyspKinds = map[string]struct{ script, module, pkg string }{
	PySPOneLogin: {"pysp/onelogin_sp.py", "onelogin.saml2", "python3-onelogin-saml2"},
	PySPPySAML2:  {"pysp/pysaml2_sp.py", "saml2", "python3-pysaml2"},
}

// PySPConfig configures a Python SP. Strict mode is always on. The IdP is
// given inline, either as metadata XML or as entity ID, SSO URL, SLO URL
// and certificate: the SP never fetches anything.
//
// EntityID, ACSURL and SLOURL default to http://127.0.0.1:PORT/metadata,
// …/acs and …/sls. Set Port to know them before the SP starts (see
// FreeLoopbackPort). With no IdP at all the SP still serves /metadata and
// /health; give the IdP later with PySP.Configure.
type PySPConfig struct {
	Port int `json:"-"` // 0: a free loopback port

	EntityID string `json:"entity_id"`
	ACSURL   string `json:"acs_url"`
	SLOURL   string `json:"slo_url"` // the SP's SingleLogoutService (served at /sls)

	IdPMetadataXML string `json:"idp_metadata_xml,omitempty"`
	IdPEntityID    string `json:"idp_entity_id,omitempty"`
	IdPSSOURL      string `json:"idp_sso_url,omitempty"`
	IdPSLOURL      string `json:"idp_slo_url,omitempty"`
	IdPCertPEM     string `json:"idp_cert_pem,omitempty"`

	// SPKeyPEM and SPCertPEM (see GenerateSPKeyPair) sign requests and
	// decrypt assertions, and are published in the SP metadata.
	SPKeyPEM  string `json:"sp_key_pem,omitempty"`
	SPCertPEM string `json:"sp_cert_pem,omitempty"`

	SignAuthnRequests       bool `json:"sign_authn_requests"`
	SignLogout              bool `json:"sign_logout"` // LogoutRequest and LogoutResponse
	WantAssertionsEncrypted bool `json:"want_assertions_encrypted"`
	WantAssertionsSigned    bool `json:"want_assertions_signed"`
	WantMessagesSigned      bool `json:"want_messages_signed"` // the Response (and logout messages, onelogin)

	NameIDFormat string `json:"name_id_format,omitempty"` // NameIDPolicy in AuthnRequests

	// AllowNoAttributeStatement turns off onelogin's wantAttributeStatement,
	// which by default refuses an assertion without an AttributeStatement.
	AllowNoAttributeStatement bool `json:"allow_no_attribute_statement"`
	// RequestedAuthnContext, when non-nil, sets onelogin's
	// requestedAuthnContext (nil keeps the library default: exact
	// PasswordProtectedTransport; an empty slice sends none).
	RequestedAuthnContext []string `json:"requested_authn_context,omitempty"`
	// RejectUnsolicited makes pysaml2 refuse IdP-initiated responses
	// (allow_unsolicited=false). onelogin always accepts them.
	RejectUnsolicited bool `json:"reject_unsolicited"`
}

// PySPResult is what the SP recorded for the last message at /acs
// (PySP.Result) or /sls (PySP.LogoutResult).
type PySPResult struct {
	OK     bool     `json:"ok"`
	Error  string   `json:"error"`  // the library's reason when !OK
	Errors []string `json:"errors"` // the library's error codes

	NameID       string              `json:"name_id"`
	NameIDFormat string              `json:"name_id_format"`
	SessionIndex string              `json:"session_index"`
	Attributes   map[string][]string `json:"attributes"` // by Name, every value
	InResponseTo string              `json:"in_response_to"`
	RelayState   string              `json:"relay_state"`

	Kind    string `json:"kind"`    // LogoutRequest or LogoutResponse (logout only)
	Binding string `json:"binding"` // redirect or post (logout only)
}

// PySP is a running Python SP.
type PySP struct {
	Kind   string
	Config PySPConfig // with defaults filled in
	url    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreeLoopbackPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreeLoopbackPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RequirePythonSAML skips the test (fails it under IDCENTER_INTEROP=required)
// unless /usr/bin/python3 can import the module of kind.
func RequirePythonSAML(t testing.TB, kind string) {
	t.Helper()
	k, ok := pyspKinds[kind]
	if !ok {
		t.Fatalf("unknown Python SP kind %q", kind)
	}
	if _, err := os.Stat(PythonPath); err != nil {
		SkipOrFail(t, PythonPath+" not found (apt-get install python3 "+k.pkg+")")
	}
	if out, err := exec.Command(PythonPath, "-c", "import "+k.module).CombinedOutput(); err != nil {
		SkipOrFail(t, fmt.Sprintf("%s cannot import %s (apt-get install %s): %v %s", PythonPath, k.module, k.pkg, err, out))
	}
}

// StartPythonSP starts an SP of kind (PySPOneLogin or PySPPySAML2) on
// loopback, waits for /health and stops it when the test ends. Its stderr
// goes to the test log when the test fails.
func StartPythonSP(t testing.TB, kind string, cfg PySPConfig) *PySP {
	t.Helper()
	RequirePythonSAML(t, kind)
	k := pyspKinds[kind]
	if cfg.Port == 0 {
		cfg.Port = FreeLoopbackPort(t)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(cfg.Port)
	if cfg.EntityID == "" {
		cfg.EntityID = base + "/metadata"
	}
	if cfg.ACSURL == "" {
		cfg.ACSURL = base + "/acs"
	}
	if cfg.SLOURL == "" {
		cfg.SLOURL = base + "/sls"
	}
	dir := t.TempDir()
	script, err := pyspFS.ReadFile(k.script)
	if err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(dir, filepath.Base(k.script))
	if err := os.WriteFile(scriptPath, script, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgJSON, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, cfgJSON, 0o600); err != nil {
		t.Fatal(err)
	}

	sp := &PySP{Kind: kind, Config: cfg, url: base, stderr: &lockedBuffer{}}
	cmd := exec.Command(PythonPath, scriptPath, "--port", strconv.Itoa(cfg.Port), "--config", cfgPath)
	cmd.Dir = dir
	// No proxies, no user site-packages: Debian's modules only, loopback only.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "PYTHONNOUSERSITE=1",
		"PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8", "NO_PROXY=*"}
	cmd.Stdout = sp.stderr
	cmd.Stderr = sp.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s SP: %v", kind, err)
	}
	sp.cmd = cmd
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s SP (%s) stderr:\n%s", kind, base, sp.stderr.String())
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := pyspClient.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return sp
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s SP exited before it was healthy:\n%s", kind, sp.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s SP not healthy after 20s (%v):\n%s", kind, err, sp.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var pyspClient = &http.Client{
	Timeout:       30 * time.Second,
	Transport:     &http.Transport{Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// URL is the SP's base URL, http://127.0.0.1:PORT.
func (s *PySP) URL() string { return s.url }

// EntityID is the SP's entity ID.
func (s *PySP) EntityID() string { return s.Config.EntityID }

// ACSURL is the SP's AssertionConsumerService (HTTP-POST).
func (s *PySP) ACSURL() string { return s.Config.ACSURL }

// SLOURL is the SP's SingleLogoutService (HTTP-Redirect and HTTP-POST).
func (s *PySP) SLOURL() string { return s.Config.SLOURL }

// MetadataURL serves the SP metadata as the library generates it.
func (s *PySP) MetadataURL() string { return s.url + "/metadata" }

// LoginURL starts SP-initiated SSO: binding "redirect" answers a 302 to
// the IdP, "post" an HTML form with SAMLRequest and RelayState.
func (s *PySP) LoginURL(binding, relay string) string {
	return s.url + "/login?" + url.Values{"binding": {binding}, "relay": {relay}}.Encode()
}

// LogoutURL starts SP-initiated SLO for the last session the SP accepted
// (a redirect to the IdP).
func (s *PySP) LogoutURL(relay string) string {
	return s.url + "/logout?" + url.Values{"relay": {relay}}.Encode()
}

// LogoutURLBinding is LogoutURL over binding "redirect" or "post" (an HTML
// form with the LogoutRequest, enveloped-signed when SignLogout is set).
// Only pysaml2 sends a LogoutRequest over HTTP-POST; python3-saml answers
// 400 to "post".
func (s *PySP) LogoutURLBinding(binding, relay string) string {
	return s.url + "/logout?" + url.Values{"binding": {binding}, "relay": {relay}}.Encode()
}

// Metadata fetches the SP metadata XML.
func (s *PySP) Metadata(t testing.TB) []byte {
	t.Helper()
	return s.get(t, "/metadata")
}

// Result returns what the SP recorded for the last SAMLResponse at /acs
// (zero when there was none).
func (s *PySP) Result(t testing.TB) PySPResult {
	t.Helper()
	return s.result(t, "/result")
}

// LogoutResult returns what the SP recorded for the last logout message at
// /sls (zero when there was none).
func (s *PySP) LogoutResult(t testing.TB) PySPResult {
	t.Helper()
	return s.result(t, "/result?kind=slo")
}

// Configure changes the running SP's configuration: the fields of upd
// that are set (non-zero) replace the current ones; use it to give the IdP
// once its URLs are known.
func (s *PySP) Configure(t testing.TB, upd PySPConfig) {
	t.Helper()
	full, err := json.Marshal(upd)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(full, &m)
	for k, v := range m {
		if v == nil || v == "" || v == false {
			delete(m, k)
		}
	}
	body, _ := json.Marshal(m)
	resp, err := pyspClient.Post(s.url+"/config", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s SP /config: %v", s.Kind, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s SP /config: %s: %s", s.Kind, resp.Status, b)
	}
	_ = json.Unmarshal(body, &s.Config) // the Go-side view, best effort
}

func (s *PySP) result(t testing.TB, path string) PySPResult {
	t.Helper()
	var r PySPResult
	b := s.get(t, path)
	if strings.TrimSpace(string(b)) == "null" {
		return r
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s SP %s: %v: %s", s.Kind, path, err, b)
	}
	return r
}

func (s *PySP) get(t testing.TB, path string) []byte {
	t.Helper()
	resp, err := pyspClient.Get(s.url + path)
	if err != nil {
		t.Fatalf("%s SP %s: %v", s.Kind, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s SP %s: %s %v: %s", s.Kind, path, resp.Status, err, b)
	}
	return b
}

// GenerateSPKeyPair makes an RSA-2048 key and a self-signed certificate for
// commonName, valid from an hour ago for a year, both PEM-encoded.
func GenerateSPKeyPair(t testing.TB, commonName string) (keyPEM, certPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
