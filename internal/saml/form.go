package saml

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
)

// PostForm is the HTML page of the HTTP-POST binding: a form that carries a
// SAML message to an SP's endpoint. It holds no inline script, so it works
// under a strict Content-Security-Policy. The handler serving it should send
// Cache-Control: no-cache, no-store and Pragma: no-cache (SAML Bindings
// §3.5.5.1).
type PostForm struct {
	// Action is the SP endpoint (the selected ACS or SLO URL); it must pass
	// ValidateEndpointURL.
	Action string
	// Param is "SAMLResponse" or "SAMLRequest".
	Param string
	// Message is the XML; the form base64-encodes it.
	Message []byte
	// RelayState is echoed unchanged when non-empty (IDP-08).
	RelayState string
	// ScriptSrc, when set, is the URL of a same-origin script that submits
	// the form (the script text is AutoSubmitScript); the button is then
	// shown only without JavaScript. Without it the button is always shown.
	ScriptSrc string
	// Nonce, when set, is put on the script element for a nonce-based CSP.
	Nonce string
}

// AutoSubmitScript is the content to serve at PostForm.ScriptSrc.
const AutoSubmitScript = `document.getElementById("saml-post").submit();` + "\n"

var postFormTmpl = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>Continuing sign-in</title>
</head>
<body>
<form id="saml-post" method="post" action="{{.Action}}">
<input type="hidden" name="{{.Param}}" value="{{.Encoded}}">
{{- if .RelayState}}
<input type="hidden" name="RelayState" value="{{.RelayState}}">
{{- end}}
{{if .ScriptSrc}}<noscript><button type="submit">Continue</button></noscript>{{else}}<p>Press Continue to finish signing in.</p>
<button type="submit">Continue</button>{{end}}
</form>
{{- if .ScriptSrc}}
<script src="{{.ScriptSrc}}"{{if .Nonce}} nonce="{{.Nonce}}"{{end}} defer></script>
{{- end}}
</body>
</html>
`))

// HTML renders the page; every value is escaped by html/template.
func (f PostForm) HTML() ([]byte, error) {
	if f.Param != "SAMLResponse" && f.Param != "SAMLRequest" {
		return nil, errors.New("saml: form parameter must be SAMLResponse or SAMLRequest")
	}
	if err := ValidateEndpointURL(f.Action); err != nil {
		return nil, err
	}
	if err := checkRelayState(f.RelayState); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err := postFormTmpl.Execute(&buf, struct {
		PostForm
		Encoded string
	}{f, base64.StdEncoding.EncodeToString(f.Message)})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
