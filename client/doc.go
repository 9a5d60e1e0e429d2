// Package client is the Go client of the idcenter admin REST API (/api/v1).
//
// It holds the wire types the API speaks (User, Group, Member, Token,
// AuditEvent, Plan, ...) and a Client with one method per API operation.
// Every method takes a context, and every non-2xx response is returned as an
// *Error carrying the RFC 9457 problem details the server sent:
//
//	c := client.New("https://id.example.com", os.Getenv("IDCENTER_TOKEN"))
//	u, err := c.GetUser(ctx, "alice")
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
//		// no such user
//	}
//
// Users are addressed by id or userName, groups by id or displayName and
// tokens by id or name; the client path-escapes these keys. List methods
// return one page and the cursor of the next one (empty on the last page);
// the All* helpers follow the cursors.
//
// The package imports nothing from idcenter's internal packages, so programs
// outside the module can use it.
package client
