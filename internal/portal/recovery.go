package portal

import (
	"errors"
	"net/http"

	"github.com/idcenter/idcenter/internal/authn"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/web"
)

// registerRecovery mounts invitations and password reset.
func (p *Portal) registerRecovery(mux *http.ServeMux) {
	mux.Handle("GET /invite/{token}", p.public(p.linkPage(authn.KindInvitation)))
	mux.Handle("POST /invite/{token}", p.public(p.acceptLink(authn.KindInvitation)))
	mux.Handle("GET /reset/{token}", p.public(p.linkPage(authn.KindReset)))
	mux.Handle("POST /reset/{token}", p.public(p.acceptLink(authn.KindReset)))
	mux.Handle("GET /forgot-password", p.public(p.forgotPage))
	mux.Handle("POST /forgot-password", p.public(p.forgot))
}

type linkData struct {
	Kind     string // invite or reset
	Action   string
	UserName string
}

func linkTitle(kind string) string {
	if kind == authn.KindInvitation {
		return "Set up your account"
	}
	return "Choose a new password"
}

func (p *Portal) invalidLink(w http.ResponseWriter, r *http.Request) {
	p.Render.Render(w, r, http.StatusGone, "message", web.Page{Title: "Link not valid",
		Data: msg("This link is invalid, has expired or has already been used. Ask your administrator for a new invitation, or request a new password reset.",
			"/forgot-password", "Reset your password")})
}

func (p *Portal) linkPage(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.Accounts == nil {
			p.invalidLink(w, r)
			return
		}
		u, err := p.Accounts.Peek(r.Context(), kind, r.PathValue("token"))
		if errors.Is(err, authn.ErrTokenInvalid) {
			p.invalidLink(w, r)
			return
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Referrer-Policy", "no-referrer")
		p.Render.Render(w, r, http.StatusOK, "setpassword", web.Page{Title: linkTitle(kind),
			Data: linkData{Kind: kind, Action: r.URL.Path, UserName: u.UserName}})
	}
}

func (p *Portal) acceptLink(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.Accounts == nil {
			p.invalidLink(w, r)
			return
		}
		token := r.PathValue("token")
		pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
		u, err := p.Accounts.Peek(r.Context(), kind, token)
		if errors.Is(err, authn.ErrTokenInvalid) {
			p.invalidLink(w, r)
			return
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		d := linkData{Kind: kind, Action: r.URL.Path, UserName: u.UserName}
		if pw != confirm {
			p.Render.Render(w, r, http.StatusBadRequest, "setpassword", web.Page{Title: linkTitle(kind), Error: "The two passwords do not match.", Data: d})
			return
		}
		replaces := ""
		if s := web.AuthFrom(r.Context()).Session; s != nil {
			replaces = s.ID // a browser signed in as someone else is signed out of that account
		}
		out, err := p.Accounts.Accept(r.Context(), kind, token, pw, client(r), replaces)
		var inv *errs.Invalid
		switch {
		case errors.As(err, &inv):
			p.Render.Render(w, r, http.StatusBadRequest, "setpassword", web.Page{Title: linkTitle(kind),
				Error: "This password cannot be used: " + inv.Problems[0].Reason + ".", Data: d})
			return
		case errors.Is(err, authn.ErrTokenInvalid):
			p.invalidLink(w, r)
			return
		case err != nil:
			p.fail(w, r, err)
			return
		}
		p.finish(w, r, out, "")
	}
}

func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.Render.Render(w, r, http.StatusOK, "forgot", web.Page{Title: "Reset your password"})
}

func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) {
	if p.Accounts != nil {
		if err := p.Accounts.RequestReset(r.Context(), r.PostFormValue("username"), client(r)); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	// The same answer whether or not the account exists.
	p.Render.Render(w, r, http.StatusOK, "message", web.Page{Title: "Check your email",
		Data: msg("If an account matches what you entered and it has an email address, we have sent it a link to choose a new password. The link works once and expires soon.",
			"/signin", "Back to sign-in")})
}
