package saml

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// loopbackTransport trusts srv's certificate and allows loopback (tests only);
// every other range stays denied at dial time.
func loopbackTransport(srv *httptest.Server) *http.Transport {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = NewMetadataDialer(true).DialContext
	return tr
}

func TestFetchSPMetadata(t *testing.T) {
	md, err := os.ReadFile("testdata/sp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/md", func(w http.ResponseWriter, r *http.Request) { w.Write(md) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("<!-- padding -->", MaxFetchedMetadataBytes/16+10)))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 40; i++ {
			w.Write([]byte(strings.Repeat("x", 16<<10)))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://10.0.0.1/md", http.StatusFound)
	})
	mux.HandleFunc("/to-link-local", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/md", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/md", http.StatusFound)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	ctx := context.Background()
	allow := FetchOptions{Transport: loopbackTransport(srv)}

	t.Run("http refused", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1/md", "file:///etc/passwd", "ftp://example.com/md", "https:///md", "https://u:p@example.com/md"} {
			if _, err := FetchSPMetadata(ctx, u, FetchOptions{}); !errors.Is(err, ErrMetadataFetch) {
				t.Errorf("%s: %v", u, err)
			}
		}
	})
	t.Run("loopback refused", func(t *testing.T) {
		// The default transport does not trust the test certificate, but the
		// dial is refused before any TLS happens.
		_, err := FetchSPMetadata(ctx, srv.URL+"/md", FetchOptions{})
		if !errors.Is(err, ErrMetadataFetch) || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("got %v", err)
		}
		// Also with the test server's trust, as long as loopback is not allowed.
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = NewMetadataDialer(false).DialContext
		_, err = FetchSPMetadata(ctx, srv.URL+"/md", FetchOptions{Transport: tr})
		if !errors.Is(err, ErrMetadataFetch) || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("success", func(t *testing.T) {
		for _, p := range []string{"/md", "/hop"} {
			m, err := FetchSPMetadata(ctx, srv.URL+p, allow)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if m.EntityID == "" || len(m.AssertionConsumerServices) == 0 {
				t.Fatalf("%s: %+v", p, m)
			}
		}
	})
	t.Run("oversized", func(t *testing.T) {
		for _, p := range []string{"/big", "/big-chunked"} {
			_, err := FetchSPMetadata(ctx, srv.URL+p, allow)
			if !errors.Is(err, ErrMetadataTooLarge) {
				t.Errorf("%s: %v", p, err)
			}
		}
	})
	t.Run("redirects", func(t *testing.T) {
		for p, want := range map[string]string{
			"/to-private": "private", "/to-link-local": "link-local", "/to-http": "https", "/loop": "redirects",
		} {
			_, err := FetchSPMetadata(ctx, srv.URL+p, allow)
			if !errors.Is(err, ErrMetadataFetch) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: got %v, want %q", p, err, want)
			}
		}
	})
}

func TestCheckMetadataAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1",
		"fc00::1", "224.0.0.1", "ff02::1", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "100.64.0.1", "255.255.255.255"} {
		if err := checkMetadataAddr(netip.MustParseAddr(s), false); err == nil {
			t.Errorf("%s allowed", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"} {
		if err := checkMetadataAddr(netip.MustParseAddr(s), false); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if err := checkMetadataAddr(netip.MustParseAddr("127.0.0.1"), true); err != nil {
		t.Error(err)
	}
	if err := checkMetadataAddr(netip.MustParseAddr("10.0.0.1"), true); err == nil {
		t.Error("allowLoopback let a private address through")
	}
}
