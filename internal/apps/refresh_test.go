package apps_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
	"github.com/idcenter/idcenter/internal/testenv"
)

const mdURL = "https://sp.example.com/saml/metadata.xml"

func spCertPEM(t *testing.T) string {
	t.Helper()
	k, _ := pooledKey(2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func fetchedMD(acs string) *apps.SPMetadata {
	return &apps.SPMetadata{EntityID: "urn:sp", URL: mdURL, ACS: []apps.ACS{{URL: acs, Binding: apps.BindingPOST, Index: 0}}}
}

// TestCreateChecksMetadata (IDP-04): metadata whose validUntil has passed
// is refused, naming the field it came from; fetched metadata must be
// signed by the metadata signing certificate when one is set, and is
// accepted over TLS alone otherwise.
func TestCreateChecksMetadata(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f.svc.Now = func() time.Time { return clock }
		cert := spCertPEM(t)
		req := func(name string, md *apps.SPMetadata, signingCert string) apps.CreateRequest {
			return apps.CreateRequest{Metadata: md, Application: apps.Application{DisplayName: name, Enabled: true,
				SPMetadataSigningCertificate: signingCert}}
		}

		expired := fetchedMD("https://sp.example.com/acs")
		expired.URL, expired.ValidUntil = "", clock.Add(-time.Second)
		_, err := f.svc.Create(ctx, admin, req("Expired", expired, ""))
		wantFields(t, err, "spMetadata")
		if r := reason(err, "spMetadata"); !strings.Contains(r, "validUntil (2030-01-02T03:04:04Z) is in the past") {
			t.Errorf("reason %q", r)
		}
		expiredURL := fetchedMD("https://sp.example.com/acs")
		expiredURL.ValidUntil = clock
		_, err = f.svc.Create(ctx, admin, req("Expired URL", expiredURL, ""))
		wantFields(t, err, "spMetadataUrl")

		var checkedWith []string
		signedBy := func(want string) func(string) error {
			return func(pemText string) error {
				checkedWith = append(checkedWith, pemText)
				if strings.TrimSpace(pemText) != strings.TrimSpace(want) {
					return errors.New("saml: metadata signature: not signed by the metadata signing certificate")
				}
				return nil
			}
		}
		unsigned := fetchedMD("https://sp.example.com/acs")
		unsigned.VerifySignature = func(string) error { return errors.New("saml: metadata signature: the metadata is not signed") }
		_, err = f.svc.Create(ctx, admin, req("Unsigned", unsigned, cert))
		wantFields(t, err, "spMetadataUrl")
		if r := reason(err, "spMetadataUrl"); !strings.Contains(r, "not signed") {
			t.Errorf("reason %q", r)
		}
		wrong := fetchedMD("https://sp.example.com/acs")
		wrong.VerifySignature = signedBy("another certificate")
		_, err = f.svc.Create(ctx, admin, req("Wrong signer", wrong, cert))
		wantFields(t, err, "spMetadataUrl")
		noDoc := fetchedMD("https://sp.example.com/acs")
		_, err = f.svc.Create(ctx, admin, req("No document", noDoc, cert))
		wantFields(t, err, "spMetadataUrl")
		if list, _ := f.svc.List(ctx, admin); len(list) != 0 {
			t.Fatalf("refused metadata created %d applications", len(list))
		}

		good := fetchedMD("https://sp.example.com/acs")
		good.ValidUntil = clock.Add(time.Hour)
		good.VerifySignature = signedBy(cert)
		a, err := f.svc.Create(ctx, admin, req("Signed", good, cert))
		if err != nil {
			t.Fatal(err)
		}
		if len(checkedWith) != 2 {
			t.Errorf("signature checked %d times", len(checkedWith))
		}
		if a.SPMetadataURL != mdURL || a.MetadataRefresh == nil || !a.MetadataRefresh.CheckedAt.Equal(clock) || !a.MetadataRefresh.RefreshedAt.Equal(clock) {
			t.Errorf("created: url %q refresh %+v", a.SPMetadataURL, a.MetadataRefresh)
		}
		got, err := f.svc.Get(ctx, auditor, a.ID)
		if err != nil || got.SPMetadataURL != mdURL || got.SPMetadataSigningCertificate == "" || got.MetadataRefresh == nil {
			t.Errorf("stored: %+v %v", got, err)
		}

		// Without a signing certificate, https is the trust: an unsigned
		// document is accepted. Uploaded metadata is never checked against it.
		tlsOnly := fetchedMD("https://sp2.example.com/acs")
		tlsOnly.EntityID = "urn:sp2"
		tlsOnly.VerifySignature = unsigned.VerifySignature
		if _, err := f.svc.Create(ctx, admin, req("TLS only", tlsOnly, "")); err != nil {
			t.Errorf("unsigned metadata over https without a signing certificate: %v", err)
		}
		uploaded := fetchedMD("https://sp3.example.com/acs")
		uploaded.EntityID, uploaded.URL, uploaded.VerifySignature = "urn:sp3", "", unsigned.VerifySignature
		if _, err := f.svc.Create(ctx, admin, req("Uploaded", uploaded, cert)); err != nil {
			t.Errorf("uploaded metadata: %v", err)
		}

		// Field checks.
		bad := custom("Bad", "urn:bad")
		bad.SPMetadataURL, bad.SPMetadataSigningCertificate = "http://sp.example.com/md", "junk"
		_, err = f.svc.Create(ctx, admin, bad)
		wantFields(t, err, "spMetadataUrl", "spMetadataSigningCertificate")
	})
}

// TestRefreshMetadata: an application created from a metadata URL is
// fetched again once its copy is older than the interval; changes are
// applied and audited as app.metadata.refresh by the system; a failure
// (fetch, expired, another entity ID) keeps the settings and records the
// error; a new URL is refreshed at the next run.
func TestRefreshMetadata(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f.svc.Now = func() time.Time { return clock }
		const day = 24 * time.Hour
		a, err := f.svc.Create(ctx, admin, apps.CreateRequest{Metadata: fetchedMD("https://sp.example.com/acs-old"),
			Application: apps.Application{DisplayName: "Wiki", Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		cert := spCertPEM(t)
		var calls []string
		var answer func() (*apps.SPMetadata, error)
		fetch := func(_ context.Context, u string) (*apps.SPMetadata, error) {
			calls = append(calls, u)
			return answer()
		}
		refresh := func(wantFetches int) apps.RefreshResult {
			t.Helper()
			before := len(calls)
			res, err := f.svc.RefreshMetadata(ctx, fetch, day)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(calls) - before; n != wantFetches {
				t.Fatalf("fetched %d times, want %d", n, wantFetches)
			}
			return res
		}
		get := func() apps.Application {
			t.Helper()
			x, err := f.svc.Get(ctx, auditor, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
		answer = func() (*apps.SPMetadata, error) {
			md := fetchedMD("https://sp.example.com/acs-new")
			md.SLOURL, md.SLOBinding = "https://sp.example.com/slo", apps.BindingRedirect
			md.SigningCertificates, md.EncryptionCertificate = []string{cert}, cert
			return md, nil
		}

		clock = clock.Add(day - time.Minute)
		refresh(0) // not due yet
		clock = clock.Add(time.Minute)
		if res := refresh(1); res != (apps.RefreshResult{Checked: 1, Changed: 1}) {
			t.Errorf("result %+v", res)
		}
		if calls[0] != mdURL {
			t.Errorf("fetched %q", calls[0])
		}
		got := get()
		if len(got.ACS) != 1 || got.ACS[0].URL != "https://sp.example.com/acs-new" || got.SLOURL != "https://sp.example.com/slo" ||
			len(got.SigningCertificates) != 1 || got.EncryptionCertificate == "" || got.Version != a.Version+1 {
			t.Errorf("not applied: %+v", got)
		}
		if r := got.MetadataRefresh; r == nil || !r.RefreshedAt.Equal(clock) || !r.CheckedAt.Equal(clock) || r.Error != "" {
			t.Errorf("refresh state %+v", r)
		}
		var refreshEvents []audit.Event
		for _, e := range events(t, s) {
			if e.Action == "app.metadata.refresh" {
				refreshEvents = append(refreshEvents, e)
			}
		}
		if len(refreshEvents) != 1 || refreshEvents[0].Actor.Type != audit.System.Type || refreshEvents[0].TargetID != a.ID {
			t.Fatalf("audit: %+v", refreshEvents)
		}
		refresh(0) // just refreshed

		// Unchanged metadata: checked, nothing written, no event.
		clock = clock.Add(day)
		if res := refresh(1); res != (apps.RefreshResult{Checked: 1}) || get().Version != a.Version+1 {
			t.Errorf("unchanged: %+v", res)
		}
		lastOK := clock

		for name, c := range map[string]struct {
			answer func() (*apps.SPMetadata, error)
			want   string
		}{
			"fetch": {func() (*apps.SPMetadata, error) { return nil, errors.New("metadata fetch: connection refused") }, "connection refused"},
			"entity id": {func() (*apps.SPMetadata, error) {
				md := fetchedMD("https://x/acs")
				md.EntityID = "urn:other"
				return md, nil
			}, `names entity ID "urn:other"`},
			"expired": {func() (*apps.SPMetadata, error) {
				md := fetchedMD("https://sp.example.com/acs-3")
				md.ValidUntil = clock.Add(-time.Hour)
				return md, nil
			}, "validUntil"},
			"invalid": {func() (*apps.SPMetadata, error) { return fetchedMD("javascript:alert(1)"), nil }, "acs"},
		} {
			clock = clock.Add(day)
			answer = c.answer
			if res := refresh(1); res != (apps.RefreshResult{Failed: 1}) {
				t.Errorf("%s: %+v", name, res)
			}
			got := get()
			if got.Version != a.Version+1 || got.ACS[0].URL != "https://sp.example.com/acs-new" {
				t.Errorf("%s: settings changed: %+v", name, got)
			}
			if r := got.MetadataRefresh; r == nil || !strings.Contains(r.Error, c.want) || !r.RefreshedAt.Equal(lastOK) || !r.CheckedAt.Equal(clock) {
				t.Errorf("%s: refresh state %+v", name, r)
			}
			refresh(0) // a failure waits for the next interval too
		}

		// The refresh state is the refresher's: an update cannot set it.
		upd, err := f.svc.Update(ctx, admin, a.ID, 0, func(x *apps.Application) error {
			x.MetadataRefresh = &apps.MetadataRefresh{Error: "forged"}
			x.Description = "docs"
			return nil
		})
		if err != nil || upd.MetadataRefresh == nil || upd.MetadataRefresh.Error == "forged" || get().MetadataRefresh.Error == "forged" {
			t.Errorf("update set the refresh state: %+v %v", upd.MetadataRefresh, err)
		}
		// A new URL starts afresh and is due at once; clearing it stops refreshes.
		if _, err := f.svc.Update(ctx, admin, a.ID, 0, func(x *apps.Application) error {
			x.SPMetadataURL = "https://sp.example.com/new-metadata.xml"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if r := get().MetadataRefresh; r != nil {
			t.Errorf("new URL kept the old state %+v", r)
		}
		answer = func() (*apps.SPMetadata, error) { return fetchedMD("https://sp.example.com/acs-new"), nil }
		refresh(1)
		if calls[len(calls)-1] != "https://sp.example.com/new-metadata.xml" {
			t.Errorf("fetched %q", calls[len(calls)-1])
		}
		if _, err := f.svc.Update(ctx, admin, a.ID, 0, func(x *apps.Application) error { x.SPMetadataURL = ""; return nil }); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(10 * day)
		refresh(0)
	})
}

// TestRefreshMetadataConcurrent: two replicas refreshing at once fetch
// each application once (the guarded claim), and apply it once.
func TestRefreshMetadataConcurrent(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f := newFixture(t, s)
		f.svc.Now = func() time.Time { return clock }
		other := newFixture(t, s)
		other.svc.Now = f.svc.Now
		names := []string{"Wiki", "Chat", "Mail"}
		for _, n := range names {
			md := fetchedMD("https://" + n + ".example.com/acs")
			md.EntityID, md.URL = "urn:"+n, "https://"+n+".example.com/md"
			if _, err := f.svc.Create(ctx, admin, apps.CreateRequest{Metadata: md, Application: apps.Application{DisplayName: n, Enabled: true}}); err != nil {
				t.Fatal(err)
			}
		}
		clock = clock.Add(48 * time.Hour)
		var mu sync.Mutex
		fetched := map[string]int{}
		fetch := func(_ context.Context, u string) (*apps.SPMetadata, error) {
			mu.Lock()
			fetched[u]++
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // widen the race window
			n := strings.TrimSuffix(strings.TrimPrefix(u, "https://"), ".example.com/md")
			md := fetchedMD("https://" + n + ".example.com/acs-2")
			md.EntityID = "urn:" + n
			return md, nil
		}
		var wg sync.WaitGroup
		results := make([]apps.RefreshResult, 2)
		errsOut := make([]error, 2)
		for i, svc := range []*apps.Service{f.svc, other.svc} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errsOut[i] = svc.RefreshMetadata(ctx, fetch, 24*time.Hour)
			}()
		}
		wg.Wait()
		for i, err := range errsOut {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		if len(fetched) != len(names) {
			t.Errorf("fetched %v", fetched)
		}
		for u, n := range fetched {
			if n != 1 {
				t.Errorf("%s fetched %d times", u, n)
			}
		}
		if c := results[0].Changed + results[1].Changed; c != len(names) {
			t.Errorf("changed %+v", results)
		}
		if n := len(actionsOf(events(t, s), "app.metadata.refresh")); n != len(names) {
			t.Errorf("%d refresh events, want %d", n, len(names))
		}
	})
}
