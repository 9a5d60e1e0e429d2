package awsfed_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/awsfed"
	"github.com/idcenter/idcenter/internal/cloud"
)

// TestSTSRedirectNotFollowed: an STS endpoint that answers with a redirect
// must not make idcenter re-post the SAML assertion (a bearer credential for
// the role) to the redirect's target, which may be any host and plain http.
func TestSTSRedirectNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		var leaked atomic.Int32
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			if r.Form.Get("SAMLAssertion") != "" || r.Method == http.MethodPost {
				leaked.Add(1)
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", status)
		}))
		role := cloud.RoleFor(cloud.Account{ID: "111111111111", SAMLProvider: "idcenter", STSEndpoint: sts.URL},
			cloud.PermissionSet{Name: "ReadOnly"})
		_, err := (&awsfed.Service{}).AssumeRoleWithSAML(context.Background(), role, "PHNhbWxwOlJlc3BvbnNlLz4=", time.Hour)
		sts.Close()
		other.Close()
		if n := leaked.Load(); n != 0 {
			t.Fatalf("%d: the assertion was re-posted to the redirect target", status)
		}
		if !errors.Is(err, cloud.ErrSTSUnavailable) && !errors.Is(err, cloud.ErrSTSRefused) {
			t.Fatalf("%d: got %v, want an STS error", status, err)
		}
	}
}
