package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/idcenter/idcenter/internal/audit"
	"github.com/idcenter/idcenter/internal/cloud"
	"github.com/idcenter/idcenter/internal/directory"
)

func TestCloudAccounts(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.signedIn("root")
		if _, err := e.app.Directory.CreateGroup(ctx, audit.System, directory.Group{DisplayName: "Developers"}, []string{"bob"}); err != nil {
			t.Fatal(err)
		}

		expect(t, b.get("/console"), http.StatusOK, `href="/console/accounts">AWS accounts<`, `href="/console/permission-sets">Permission sets<`)
		expect(t, b.get("/console/accounts"), http.StatusOK, "No AWS accounts yet", `aria-current="page">AWS accounts<`)
		expect(t, b.get("/console/accounts/new"), http.StatusOK, `value="idcenter"`, `value="https://signin.aws.amazon.com/saml"`)

		// validation: every problem at its input, the values kept, nothing stored
		expect(t, b.post("/console/accounts", url.Values{"id": {"12345"}, "name": {""}, "stsRegion": {"mars-1"}, "stsEndpoint": {"ftp://x"}}),
			http.StatusBadRequest, `id="account-id-error"`, "Account ID must be a 12-digit AWS account id.", `id="name-error"`,
			`id="sts-region-error"`, `id="sts-endpoint-error"`, `value="12345"`, `value="mars-1"`)
		if list, _ := e.app.Cloud.ListAccounts(ctx, audit.System); len(list) != 0 {
			t.Fatalf("a bad form stored %+v", list)
		}

		loc := expectRedirect(t, b.post("/console/accounts", url.Values{"id": {"111111111111"}, "name": {"prod"}, "description": {"Production"},
			"samlProvider": {"idcenter"}, "defaultRegion": {"eu-west-1"}, "stsRegion": {"eu-west-1"}, "signInUrl": {cloud.DefaultSignInURL}}),
			"/console/accounts/111111111111?done=account-created")
		expect(t, b.get(loc), http.StatusOK, "The AWS account was created.", `id="account-number">111111111111<`, `value="prod"`, "Production",
			"There are no permission sets yet")
		expect(t, b.post("/console/accounts", url.Values{"id": {"111111111111"}, "name": {"other"}}), http.StatusConflict,
			"Another account already has this account id.")
		expect(t, b.post("/console/accounts", url.Values{"id": {"222222222222"}, "name": {"PROD"}}), http.StatusConflict,
			`id="name-error"`, "Another account already has this name.")
		expect(t, b.get("/console/accounts"), http.StatusOK, `<a href="/console/accounts/111111111111">prod</a>`, "eu-west-1")
		expect(t, b.get("/console/accounts?q=nothing"), http.StatusOK, "No accounts match.")

		// edit, with a stale form refused
		a, _ := e.app.Cloud.GetAccount(ctx, audit.System, "prod")
		form := func(version int64, name, region string) url.Values {
			return url.Values{"version": {fmt.Sprint(version)}, "name": {name}, "description": {"Production"}, "samlProvider": {"idcenter"},
				"defaultRegion": {region}, "signInUrl": {cloud.DefaultSignInURL}}
		}
		expect(t, b.post("/console/accounts/111111111111", form(a.Version, "prod", "moon")), http.StatusBadRequest, `id="default-region-error"`, `value="moon"`)
		expectRedirect(t, b.post("/console/accounts/111111111111", form(a.Version, "production", "us-east-1")), "/console/accounts/111111111111?done=account-saved")
		expect(t, b.post("/console/accounts/111111111111", form(a.Version, "stale", "us-east-1")), http.StatusConflict, "Someone else changed this account")
		if a, _ := e.app.Cloud.GetAccount(ctx, audit.System, "111111111111"); a.Name != "production" || a.DefaultRegion != "us-east-1" || a.STSRegion != "" {
			t.Fatalf("after edit: %+v", a)
		}

		// permission sets
		expect(t, b.get("/console/permission-sets"), http.StatusOK, "No permission sets yet")
		expect(t, b.get("/console/permission-sets/new"), http.StatusOK, `<option value="PT1H" selected>`, "idcenter-&lt;name&gt;")
		bad := url.Values{"name": {"Read Only"}, "sessionDuration": {"PT13H"}, "managedPolicies": {"arn:aws:iam::aws:policy/ReadOnlyAccess\nnot-an-arn"},
			"inlinePolicy": {`{"Statement": []}`}, "tags": {"team"}, "relayState": {"http://example.com"}}
		expect(t, b.post("/console/permission-sets", bad), http.StatusBadRequest, `id="tags-error"`, "write each tag as key=value")
		bad.Set("tags", "team=platform")
		expect(t, b.post("/console/permission-sets", bad), http.StatusBadRequest,
			`id="name-error"`, `id="session-duration-error"`, `id="managed-policies-error"`, "not-an-arn", `id="inline-policy-error"`,
			"Inline policy: needs &#34;Version&#34;", `id="relay-state-error"`, `aria-invalid="true"`, "{&#34;Statement&#34;: []}")
		bad.Set("inlinePolicy", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Principal": "*"}]}`)
		expect(t, b.post("/console/permission-sets", bad), http.StatusBadRequest, "statement 1: an identity policy has no Principal")
		if list, _ := e.app.Cloud.ListPermissionSets(ctx, audit.System); len(list) != 0 {
			t.Fatalf("a bad form stored %+v", list)
		}
		inline := `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}`
		loc = expectRedirect(t, b.post("/console/permission-sets", url.Values{"name": {"ReadOnly"}, "description": {"Read only"}, "sessionDuration": {"PT4H"},
			"relayState": {"https://console.aws.amazon.com/s3/home"}, "managedPolicies": {"arn:aws:iam::aws:policy/ReadOnlyAccess\n\n"},
			"customerPolicies": {"TeamBuckets\n/team/ReadLogs"}, "inlinePolicy": {inline}, "boundary": {"/Boundary"},
			"tags": {"team=platform\ncost-center = 42"}, "roleName": {"ReadOnlyRole"}}), "/console/permission-sets/")
		psID := strings.TrimPrefix(strings.Split(loc, "?")[0], "/console/permission-sets/")
		ps, err := e.app.Cloud.GetPermissionSet(ctx, audit.System, psID)
		if err != nil {
			t.Fatal(err)
		}
		if ps.Name != "ReadOnly" || ps.SessionDuration != "PT4H" || ps.RoleName != "ReadOnlyRole" || ps.InlinePolicy != inline ||
			!slices.Equal(ps.ManagedPolicies, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) ||
			!slices.Equal(ps.CustomerPolicies, []cloud.PolicyRef{{Name: "TeamBuckets", Path: "/"}, {Name: "ReadLogs", Path: "/team/"}}) ||
			ps.Boundary == nil || ps.Boundary.CustomerPolicy == nil || *ps.Boundary.CustomerPolicy != (cloud.PolicyRef{Name: "Boundary", Path: "/"}) ||
			!slices.Equal(ps.Tags, []cloud.Tag{{Key: "team", Value: "platform"}, {Key: "cost-center", Value: "42"}}) {
			t.Fatalf("stored %+v", ps)
		}
		// the edit form shows what is stored, and saving it unchanged changes nothing
		p := b.get(loc)
		expect(t, p, http.StatusOK, "The permission set was created.", `id="role">ReadOnlyRole<`, `<option value="PT4H" selected>`,
			">TeamBuckets\n/team/ReadLogs<", `value="/Boundary"`, ">team=platform\ncost-center=42<", "Not assigned in any account yet")
		same := url.Values{"version": {fmt.Sprint(ps.Version)}, "name": {"ReadOnly"}, "description": {"Read only"}, "sessionDuration": {"PT4H"},
			"relayState": {ps.RelayState}, "managedPolicies": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}, "customerPolicies": {"TeamBuckets\n/team/ReadLogs"},
			"inlinePolicy": {inline}, "boundary": {"/Boundary"}, "tags": {"team=platform\ncost-center=42"}, "roleName": {"ReadOnlyRole"}}
		expectRedirect(t, b.post(loc[:strings.Index(loc, "?")], same), "/console/permission-sets/"+psID+"?done=permission-set-saved")
		if ps2, _ := e.app.Cloud.GetPermissionSet(ctx, audit.System, psID); ps2.Version != ps.Version {
			t.Fatalf("an unchanged form bumped the version: %d → %d", ps.Version, ps2.Version)
		}
		// a managed-policy boundary, no inline policy, the derived role name
		same.Set("boundary", "arn:aws:iam::aws:policy/PowerUserAccess")
		same.Set("inlinePolicy", "")
		same.Set("roleName", "")
		expectRedirect(t, b.post("/console/permission-sets/"+psID, same), "/console/permission-sets/"+psID+"?done=permission-set-saved")
		if ps, _ = e.app.Cloud.GetPermissionSet(ctx, audit.System, "readonly"); ps.Boundary.ManagedPolicyARN != "arn:aws:iam::aws:policy/PowerUserAccess" ||
			ps.InlinePolicy != "" || ps.Role() != "idcenter-ReadOnly" {
			t.Fatalf("after edit %+v", ps)
		}
		same.Set("version", "1")
		expect(t, b.post("/console/permission-sets/"+psID, same), http.StatusConflict, "Someone else changed this permission set")
		expect(t, b.post("/console/permission-sets", url.Values{"name": {"readonly"}}), http.StatusConflict, "Another permission set already has this name.")
		expect(t, b.get("/console/permission-sets"), http.StatusOK, `<a href="/console/permission-sets/`+psID+`">ReadOnly</a>`, "<code>idcenter-ReadOnly</code>")

		// assignments on the account page
		acct := "/console/accounts/111111111111"
		expect(t, b.get(acct), http.StatusOK, `<option value="`+psID+`">ReadOnly</option>`, "Nobody is assigned yet")
		expect(t, b.post(acct+"/assignments", url.Values{"type": {"group"}, "name": {"Nobody"}, "permissionSet": {psID}}), http.StatusBadRequest,
			`id="assign-name-error"`, "There is no group “Nobody”.", `value="Nobody"`)
		expect(t, b.post(acct+"/assignments", url.Values{"type": {"group"}, "name": {"Developers"}, "permissionSet": {""}}), http.StatusBadRequest,
			`id="assign-permission-set-error"`, "Choose a permission set.")
		expect(t, b.post(acct+"/assignments", url.Values{"type": {"robot"}, "name": {"Developers"}, "permissionSet": {psID}}), http.StatusBadRequest)
		expectRedirect(t, b.post(acct+"/assignments", url.Values{"type": {"group"}, "name": {"Developers"}, "permissionSet": {psID}}), acct+"?done=account-assigned")
		expectRedirect(t, b.post(acct+"/assignments", url.Values{"type": {"user"}, "name": {"bob"}, "permissionSet": {"ReadOnly"}}), acct+"?done=account-assigned")
		p = b.get(acct)
		expect(t, p, http.StatusOK, `>Developers</a>`, `>bob</a>`, "arn:aws:iam::111111111111:role/idcenter-ReadOnly")
		if roles, err := e.app.Cloud.RolesFor(ctx, e.bob.ID); err != nil || len(roles) != 1 || roles[0].RoleName != "idcenter-ReadOnly" {
			t.Fatalf("bob's roles: %+v %v", roles, err)
		}
		expect(t, b.get("/console/permission-sets/"+psID), http.StatusOK, `<a href="/console/accounts/111111111111">production</a>`)
		expect(t, b.get("/console/accounts"), http.StatusOK, "<td>2</td>")

		g, _ := e.app.Directory.GetGroup(ctx, audit.System, "Developers")
		expectRedirect(t, b.post(acct+"/assignments/remove", url.Values{"type": {"group"}, "principal": {g.ID}, "permissionSet": {psID}}), acct+"?done=account-unassigned")
		expectRedirect(t, b.post(acct+"/assignments/remove", url.Values{"type": {"user"}, "principal": {e.bob.ID}, "permissionSet": {psID}}), acct+"?done=account-unassigned")
		expect(t, b.get(acct), http.StatusOK, "Nobody is assigned yet")
		if roles, _ := e.app.Cloud.RolesFor(ctx, e.bob.ID); len(roles) != 0 {
			t.Fatalf("bob still holds %+v", roles)
		}
		if evs, _, _ := e.app.Store.ListAudit(ctx, audit.Filter{Action: "account.", Limit: 50}); len(evs) < 6 || evs[0].Action != "account.unassign" || evs[0].Actor.Name != "root" {
			t.Fatalf("audit: %+v", evs)
		}

		// delete, after a confirmation page
		expectRedirect(t, b.post(acct+"/assignments", url.Values{"type": {"group"}, "name": {"Developers"}, "permissionSet": {psID}}), acct)
		expect(t, b.get("/console/permission-sets/"+psID+"/delete"), http.StatusOK, "Delete permission set “ReadOnly”?", `id="confirm-delete"`,
			"its assignments in every account are deleted")
		expectRedirect(t, b.post("/console/permission-sets/"+psID+"/delete", nil), "/console/permission-sets?done=permission-set-deleted")
		expect(t, b.get(acct), http.StatusOK, "Nobody is assigned yet")
		expect(t, b.get(acct+"/delete"), http.StatusOK, "Delete AWS account “production (111111111111)”?", "Nothing in AWS is changed")
		expectRedirect(t, b.post(acct+"/delete", nil), "/console/accounts?done=account-deleted")
		expect(t, b.get(acct), http.StatusNotFound)
		expect(t, b.get("/console/permission-sets/"+psID), http.StatusNotFound)
	})
}

// TestAccountIAMDownload: the account page offers the IAM set-up as
// CloudFormation and Terraform; a download becomes the drift baseline, and
// a new assignment afterwards shows as drift on the page.
func TestAccountIAMDownload(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		b := e.signedIn("root")
		if _, err := e.app.Cloud.CreateAccount(ctx, audit.System, cloud.Account{ID: "111111111111", Name: "prod"}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"ReadOnly", "Admin"} {
			if _, err := e.app.Cloud.CreatePermissionSet(ctx, audit.System, cloud.PermissionSet{Name: name,
				ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}); err != nil {
				t.Fatal(err)
			}
		}
		assign := func(ps string) {
			if _, err := e.app.Cloud.Assign(ctx, audit.System, cloud.AssignRequest{Account: "prod", PermissionSet: ps, PrincipalType: "user", Principal: "bob"}); err != nil {
				t.Fatal(err)
			}
		}
		assign("ReadOnly")
		expect(t, b.get("/console/accounts/111111111111"), http.StatusOK, `id="iam-cloudformation"`, `id="iam-terraform"`, "Never downloaded")

		r := b.get("/console/accounts/111111111111/iam?format=cloudformation")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"AWS::IAM::SAMLProvider"`) || !strings.Contains(r.Body, "idcenter-ReadOnly") {
			t.Fatalf("download: %d %.300s", r.Status, r.Body)
		}
		expect(t, b.get("/console/accounts/111111111111"), http.StatusOK, "In sync with the last download")
		if r := b.get("/console/accounts/111111111111/iam?format=terraform"); r.Status != http.StatusOK || !strings.Contains(r.Body, `"aws_iam_role"`) {
			t.Fatalf("terraform: %d %.300s", r.Status, r.Body)
		}
		if r := b.get("/console/accounts/111111111111/iam?format=pdf"); r.Status != http.StatusBadRequest {
			t.Errorf("unknown format: %d", r.Status)
		}

		assign("Admin")
		expect(t, b.get("/console/accounts/111111111111"), http.StatusOK, "Changed since the last download", "idcenter-Admin")
	})
}
