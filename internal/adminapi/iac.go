package adminapi

import (
	"net/http"
	"strconv"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/httpx"
	"github.com/idcenter/idcenter/internal/iac"
)

// iacRoutes are the IAM set-up as code operations: render an account's
// SAML provider and roles as CloudFormation or Terraform (recording the
// render), and compare the model with the last render.
func (a *API) iacRoutes() []route {
	return []route{
		{Method: "GET", Path: "/accounts/{account}/iam", ID: "renderAccountIAM", Tag: "accounts",
			Summary: "Render the account's IAM set-up (SAML provider with idcenter's metadata, one role per assigned permission set) " +
				"as CloudFormation or Terraform; an admin's render is recorded as the account's last render, the baseline of the drift check",
			Access: accessRead,
			Query: []param{{"format", "string", "cloudformation (JSON, the default), cloudformation-yaml (application/yaml) " +
				"or terraform (HCL JSON, *.tf.json)"}},
			Status: 200, Resp: map[string]any{}, RespMedia: "application/json", h: a.renderAccountIAM},
		{Method: "GET", Path: "/accounts/{account}/iam/drift", ID: "getAccountIAMDrift", Tag: "accounts",
			Summary: "Compare the account's current model with its last rendered IAM set-up", Access: accessRead,
			Status: 200, Resp: iac.Drift{}, h: a.accountIAMDrift},
		{Method: "GET", Path: "/iam/drift", ID: "listIAMDrift", Tag: "accounts",
			Summary: "Compare every account's current model with its last rendered IAM set-up", Access: accessRead,
			Status: 200, Resp: List[iac.Drift]{}, h: a.listIAMDrift},
	}
}

func (a *API) renderAccountIAM(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	doc, err := a.IaC.Render(r.Context(), actor, r.PathValue("account"), r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", doc.ContentType)
	// The file name is built from the 12-digit account id alone.
	h.Set("Content-Disposition", `attachment; filename="`+doc.FileName+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-IAM-Digest", doc.Digest)
	h.Set("X-IAM-Recorded", strconv.FormatBool(doc.Recorded))
	_, _ = w.Write(doc.Body)
	return nil
}

func (a *API) accountIAMDrift(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	d, err := a.IaC.Drift(r.Context(), actor, r.PathValue("account"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, d)
	return nil
}

func (a *API) listIAMDrift(w http.ResponseWriter, r *http.Request, actor audit.Actor) error {
	ds, err := a.IaC.DriftAll(r.Context(), actor)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, 200, List[iac.Drift]{Items: nonNil(ds)})
	return nil
}
