package idp_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/app"
	"github.com/idcenter/idcenter/internal/apps"
	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/config"
	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/testenv"
)

// BenchmarkIdPInitiatedSSO is end-to-end IdP-initiated SSO for a signed-in
// user over loopback HTTP: GET /saml/apps/{id}/start with the session
// cookie (from the portal tile: Sec-Fetch-Site same-origin), answered by the auto-POST form carrying a Response signed twice
// (response and assertion, RSA-2048). Many clients run at once
// (b.RunParallel; scale with -cpu and SetParallelism). It reports
// responses/s and the p50 and p99 latency, on SQLite and on PostgreSQL
// (skipped without IDCENTER_TEST_POSTGRES). See docs/performance.md.
func BenchmarkIdPInitiatedSSO(b *testing.B) {
	for _, eng := range testenv.Engines() {
		b.Run(eng.Name, func(b *testing.B) {
			dsn := ""
			if eng.Name == "postgres" {
				dsn = testenv.PostgresDSN(b)
			}
			start, client := benchIdP(b, dsn)
			b.SetParallelism(8) // 8 × GOMAXPROCS concurrent clients
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					s := time.Now()
					req, _ := http.NewRequest("GET", start, nil)
					req.Header.Set("Sec-Fetch-Site", "same-origin") // the portal tile
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || !strings.Contains(string(body), `name="SAMLResponse"`) {
						b.Errorf("start: %d %.200s", res.StatusCode, body)
						return
					}
					mine = append(mine, time.Since(s))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			el := time.Since(t0)
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/el.Seconds(), "responses/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// benchIdP starts idcenter with an application whose ACS is on loopback,
// signs alice in, and returns the start URL and her HTTP client.
func benchIdP(b *testing.B, database string) (string, *http.Client) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DataDir = b.TempDir()
	cfg.Database = database
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.Auth.MFA.Mode = "never"
	cfg.Auth.MFA.AdminsExempt = true
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler()}}
	srv.Start()
	b.Cleanup(func() { srv.Close(); a.Close() })

	ctx := context.Background()
	u := directory.User{UserName: "alice", Active: true, Name: directory.Name{GivenName: "Alice", FamilyName: "Smith"},
		Emails: []directory.MultiValue{{Value: "alice@example.com", Primary: true}}}
	if _, err := a.Directory.CreateUser(ctx, audit.System, u); err != nil {
		b.Fatal(err)
	}
	if err := a.Directory.SetPassword(ctx, audit.System, "alice", password); err != nil {
		b.Fatal(err)
	}
	ap, err := a.Apps.Create(ctx, audit.System, apps.CreateRequest{Application: apps.Application{
		DisplayName: "Wiki", EntityID: spEntityID, Enabled: true,
		ACS:          []apps.ACS{{URL: "http://127.0.0.1:9/acs", Binding: apps.BindingPOST, Default: true}},
		NameIDFormat: apps.NameIDEmail, NameID: "${user:email}",
		Attributes: []apps.Attribute{
			{Name: "FirstName", Value: "${user:givenName}", NameFormat: apps.NameFormatBasic},
			{Name: "Email", Value: "${user:email}", NameFormat: apps.NameFormatBasic},
		},
	}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Apps.Assign(ctx, audit.System, ap.ID, apps.PrincipalUser, "alice"); err != nil {
		b.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b.Cleanup(tr.CloseIdleConnections)
	res, err := c.Get(srv.URL + "/signin")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindStringSubmatch(string(body))
	if m == nil {
		b.Fatalf("no csrf token: %s", body)
	}
	res, err = c.PostForm(srv.URL+"/signin/password", url.Values{"csrf": {m[1]}, "username": {"alice"}, "password": {password}, "return_to": {"/start"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", res.StatusCode)
	}
	return srv.URL + "/saml/apps/" + ap.ID + "/start", c
}
