package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/directory"
	"github.com/idcenter/idcenter/internal/errs"
	"github.com/idcenter/idcenter/internal/store/sqlstore"
)

// sortedNorm returns names in the order the store lists users: by their
// normalised userName, bytewise.
func sortedNorm(names []string) []string {
	out := append([]string{}, names...)
	sort.Slice(out, func(i, j int) bool {
		return directory.NormalizeUserName(out[i]) < directory.NormalizeUserName(out[j])
	})
	return out
}

func testUserGet(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	stored := map[string]directory.User{}
	for _, name := range []string{"Alice.Smith", "åsa", "ZOË", "bob"} {
		u := newUser(name)
		stored[name] = u
		insertUsers(t, s, u)
	}
	for _, tc := range []struct {
		name   string
		lookup string
		want   string // stored userName; empty: not found
	}{
		{"exact", "Alice.Smith", "Alice.Smith"},
		{"lower case", "alice.smith", "Alice.Smith"},
		{"upper case", "ALICE.SMITH", "Alice.Smith"},
		{"surrounding spaces", "  alice.smith\t", "Alice.Smith"},
		{"unicode upper finds lower", "ÅSA", "åsa"},
		{"unicode title case", "Åsa", "åsa"},
		{"unicode decomposed", "A\u030asa", "åsa"},
		{"angstrom sign", "\u212bSA", "åsa"},
		{"unicode lower finds upper", "zoë", "ZOË"},
		{"diacritic is significant", "asa", ""},
		{"diacritic is significant 2", "zoe", ""},
		{"longer name", "alice.smith2", ""},
		{"prefix is not a match", "alice", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetUserByUserName(ctx, tc.lookup)
			if tc.want == "" {
				wantNotFound(t, err)
				return
			}
			if err != nil {
				t.Fatalf("GetUserByUserName(%q): %v", tc.lookup, err)
			}
			if d := diff(stored[tc.want], got); d != "" {
				t.Errorf("GetUserByUserName(%q) (-want +got):\n%s", tc.lookup, d)
			}
		})
	}
	t.Run("by id", func(t *testing.T) {
		for _, u := range stored {
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatalf("GetUser(%s): %v", u.ID, err)
			}
			if d := diff(u, got); d != "" {
				t.Errorf("GetUser (-want +got):\n%s", d)
			}
		}
		_, err := s.GetUser(ctx, newID())
		wantNotFound(t, err)
		_, err = s.GetUser(ctx, "Alice.Smith") // a userName is not an id
		wantNotFound(t, err)
	})
}

func testUserUnique(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	alice := newUser("alice", "alice@example.com")
	asa := newUser("åsa", "asa@example.com")
	bob := newUser("bob", "bob@example.com")
	insertUsers(t, s, alice, asa, bob)

	renamed := func(u directory.User, name string) directory.User {
		u.UserName, u.Version = name, u.Version+1
		return u
	}
	reEmailed := func(u directory.User, email string) directory.User {
		u.Emails = []directory.MultiValue{{Value: email, Primary: true}}
		u.Version++
		return u
	}
	for _, tc := range []struct {
		name  string
		write func(tx *sqlstore.Tx) error
		want  errs.Conflict
	}{
		{
			name:  "userName in another case",
			write: func(tx *sqlstore.Tx) error { return tx.InsertUser(ctx, newUser("ALICE")) },
			want:  errs.Conflict{Kind: "user", Field: "userName", Value: "ALICE"},
		},
		{
			name:  "unicode userName in another case",
			write: func(tx *sqlstore.Tx) error { return tx.InsertUser(ctx, newUser("ÅSA")) },
			want:  errs.Conflict{Kind: "user", Field: "userName", Value: "ÅSA"},
		},
		{
			name:  "primary email in another case",
			write: func(tx *sqlstore.Tx) error { return tx.InsertUser(ctx, newUser("alice2", "Alice@Example.COM")) },
			want:  errs.Conflict{Kind: "user", Field: "email", Value: "Alice@Example.COM"},
		},
		{
			name:  "rename onto an existing userName",
			write: func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, renamed(bob, "Alice"), bob.Version) },
			want:  errs.Conflict{Kind: "user", Field: "userName", Value: "Alice"},
		},
		{
			name:  "change primary email onto an existing one",
			write: func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, reEmailed(bob, "ASA@example.com"), bob.Version) },
			want:  errs.Conflict{Kind: "user", Field: "email", Value: "ASA@example.com"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantConflict(t, s.WithTx(ctx, tc.write), tc.want)
		})
	}
	// Nothing changed.
	got := allUsers(t, s, directory.UserFilter{})
	if d := diff([]directory.User{alice, bob, asa}, got); d != "" { // "å" sorts after "b"
		t.Errorf("users after conflicts (-want +got):\n%s", d)
	}

	t.Run("secondary email may repeat a primary", func(t *testing.T) {
		u := newUser("carol", "carol@example.com", "alice@example.com")
		insertUsers(t, s, u)
		got := allUsers(t, s, directory.UserFilter{Email: "alice@example.com"})
		if d := diff([]string{"alice"}, userNames(got)); d != "" {
			t.Errorf("email filter matches primary only (-want +got):\n%s", d)
		}
	})
}

func testUserNullEmail(t *testing.T, s *sqlstore.Store) {
	var us []directory.User
	for i := range 4 {
		us = append(us, newUser(fmt.Sprintf("no-email-%d", i)))
	}
	for _, u := range us {
		insertUsers(t, s, u) // one transaction each: every insert must succeed on its own
	}
	// An update that removes a primary email also leaves NULL behind.
	withEmail := newUser("had-email", "had@example.com")
	insertUsers(t, s, withEmail)
	next := withEmail
	next.Emails, next.Version = nil, 2
	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.UpdateUser(context.Background(), next, 1) })
	if n := countRows(t, s, `SELECT COUNT(*) FROM users WHERE email_norm IS NULL`); n != 5 {
		t.Errorf("users with NULL email_norm = %d, want 5", n)
	}
	if got := len(allUsers(t, s, directory.UserFilter{})); got != 5 {
		t.Errorf("users = %d, want 5", got)
	}
}

func testUserUpdateGuarded(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	u := newUser("guarded", "guarded@example.com")
	insertUsers(t, s, u)

	v2 := u
	v2.DisplayName, v2.Title, v2.Version, v2.LastModified = "Guarded User", "Engineer", 2, t0.Add(time.Minute)
	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, v2, 1) })
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(v2, got); d != "" {
		t.Fatalf("after update (-want +got):\n%s", d)
	}

	for _, prev := range []int64{1, 3, 0} {
		t.Run(fmt.Sprintf("stale version %d", prev), func(t *testing.T) {
			stale := v2
			stale.DisplayName, stale.Active, stale.Version = "lost update", false, prev+1
			err := s.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, stale, prev) })
			wantConflict(t, err, errs.Conflict{Kind: "user", Stale: true})
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(v2, got); d != "" {
				t.Errorf("stale update changed the user (-want +got):\n%s", d)
			}
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		ghost := newUser("ghost")
		ghost.Version = 2
		err := s.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, ghost, 1) })
		wantConflict(t, err, errs.Conflict{Kind: "user", Stale: true})
		_, err = s.GetUser(ctx, ghost.ID)
		wantNotFound(t, err)
	})
}

// fullUser sets every attribute a user has.
func fullUser(managerID, managerName string) directory.User {
	return directory.User{
		ID:       newID(),
		UserName: "Ada.Lovelace",
		Name: directory.Name{
			Formatted: "Ms. Augusta Ada King Lovelace II", FamilyName: "Lovelace", GivenName: "Augusta",
			MiddleName: "Ada", HonorificPrefix: "Ms.", HonorificSuffix: "II",
		},
		DisplayName:       "Ada Lovelace",
		NickName:          "Ada 🚀",
		ProfileURL:        "https://people.example.com/ada",
		Title:             "Analyst",
		UserType:          "Employee",
		PreferredLanguage: "en-GB",
		Locale:            "en-GB",
		Timezone:          "Europe/London",
		Active:            true,
		Emails: []directory.MultiValue{
			{Value: "ada@example.com", Type: "work", Primary: true, Display: "Ada (work)"},
			{Value: "ada@home.example", Type: "home"},
		},
		PhoneNumbers: []directory.MultiValue{
			{Value: "+44 20 7946 0000", Type: "work", Primary: true},
			{Value: "+44 7700 900000", Type: "mobile"},
		},
		Addresses: []directory.Address{
			{
				Formatted: "12 St James's Square\nLondon SW1Y 4LB\nGB", StreetAddress: "12 St James's Square",
				Locality: "London", Region: "Greater London", PostalCode: "SW1Y 4LB", Country: "GB",
				Type: "work", Primary: true,
			},
			{Locality: "Ockham", Country: "GB", Type: "home"},
		},
		IMs:              []directory.MultiValue{{Value: "ada@xmpp.example", Type: "xmpp", Primary: true}, {Value: "ada.l", Type: "skype"}},
		Photos:           []directory.MultiValue{{Value: "https://people.example.com/ada.jpg", Type: "photo"}},
		Entitlements:     []directory.MultiValue{{Value: "analytical-engine", Display: "Analytical Engine"}},
		Roles:            []directory.MultiValue{{Value: "mathematician", Type: "job", Primary: true}},
		X509Certificates: []directory.MultiValue{{Value: "MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGU="}},
		Enterprise: directory.Enterprise{
			EmployeeNumber: "1815", CostCenter: "CC-42", Organization: "Analytical Society",
			Division: "Research", Department: "Mathematics", ManagerID: managerID, ManagerName: managerName,
		},
		ExternalID:   "ext-ada-1815",
		Role:         directory.RoleAuditor,
		ManagedBy:    directory.ManagedByApply,
		Created:      t0,
		LastModified: t0.Add(time.Second + 123*time.Microsecond),
		Version:      3,
	}
}

func testUserRoundTrip(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	boss := newUser("charles", "charles@example.com")
	boss.DisplayName = "Charles Babbage"
	plainBoss := newUser("no-display-name")
	insertUsers(t, s, boss, plainBoss)

	want := fullUser(boss.ID, "Charles Babbage")
	stored := want
	stored.Enterprise.ManagerName = "ignored: the store fills it from the manager"
	insertUsers(t, s, stored)

	gets := []struct {
		name string
		get  func() (directory.User, error)
	}{
		{"GetUser", func() (directory.User, error) { return s.GetUser(ctx, want.ID) }},
		{"GetUserByUserName", func() (directory.User, error) { return s.GetUserByUserName(ctx, "ada.lovelace") }},
		{"ListUsers", func() (directory.User, error) {
			us := allUsers(t, s, directory.UserFilter{UserName: want.UserName})
			if len(us) != 1 {
				return directory.User{}, fmt.Errorf("ListUsers returned %d users", len(us))
			}
			return us[0], nil
		}},
	}
	check := func(t *testing.T, want directory.User) {
		t.Helper()
		for _, g := range gets {
			got, err := g.get()
			if err != nil {
				t.Fatalf("%s: %v", g.name, err)
			}
			if d := diff(want, got); d != "" {
				t.Errorf("%s round trip (-want +got):\n%s", g.name, d)
			}
		}
	}
	t.Run("insert", func(t *testing.T) { check(t, want) })

	t.Run("update", func(t *testing.T) {
		next := want
		next.PhoneNumbers = []directory.MultiValue{{Value: "+33 1 00 00 00 00", Type: "work"}}
		next.Addresses = nil
		next.Name.MiddleName = ""
		next.Enterprise.ManagerID, next.Enterprise.ManagerName = plainBoss.ID, plainBoss.UserName // no display name: the userName
		next.ExternalID, next.Role, next.ManagedBy, next.Active = "ext-2", directory.RoleAdmin, "", false
		next.Version, next.LastModified = want.Version+1, want.LastModified.Add(time.Hour)
		inTx(t, s, func(tx *sqlstore.Tx) error { return tx.UpdateUser(ctx, next, want.Version) })
		check(t, next)
	})
}

func testUserManagerDeleted(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	boss := newUser("boss")
	boss.DisplayName = "The Boss"
	report := newUser("report")
	report.Enterprise.ManagerID = boss.ID
	insertUsers(t, s, boss, report)
	got, err := s.GetUser(ctx, report.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enterprise.ManagerID != boss.ID || got.Enterprise.ManagerName != "The Boss" {
		t.Fatalf("manager = %q %q, want %q %q", got.Enterprise.ManagerID, got.Enterprise.ManagerName, boss.ID, "The Boss")
	}
	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.DeleteUser(ctx, boss.ID) })
	// A deleted manager is no manager: no dangling id is reported.
	want := report
	want.Enterprise.ManagerID = ""
	got, err = s.GetUser(ctx, report.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("report after the manager was deleted (-want +got):\n%s", d)
	}
}

func testUserListPaging(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	const n = 25
	var names []string
	for i := range n {
		name := fmt.Sprintf("user%02d", i)
		if i%3 == 0 {
			name = strings.ToUpper(name) // listing order ignores case
		}
		names = append(names, name)
	}
	shuffled := append([]string{}, names...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, name := range shuffled {
		insertUsers(t, s, newUser(name))
	}
	want := sortedNorm(names)

	for _, limit := range []int{1, 7, 24, 25, 26, 1000} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []string
			var sizes []int
			cursor := ""
			for range n + 1 {
				page, next, err := s.ListUsers(ctx, directory.UserFilter{Cursor: cursor, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, userNames(page)...)
				sizes = append(sizes, len(page))
				if next == "" {
					break
				}
				cursor = next
			}
			if d := diff(want, got); d != "" {
				t.Errorf("users across pages (-want +got):\n%s", d)
			}
			var wantSizes []int
			for left := n; left > 0; left -= limit {
				wantSizes = append(wantSizes, min(left, limit))
			}
			if d := diff(wantSizes, sizes); d != "" {
				t.Errorf("page sizes (-want +got):\n%s", d)
			}
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		_, _, err := s.ListUsers(ctx, directory.UserFilter{Cursor: "!!not base64!!", Limit: 5})
		if d := diff([]string{"cursor"}, invalidFields(err)); d != "" {
			t.Errorf("error %v: fields (-want +got):\n%s", err, d)
		}
	})
}

func testUserListFilters(t *testing.T, s *sqlstore.Store) {
	users := map[string]directory.User{}
	for _, spec := range []struct {
		name, email string
		active      bool
	}{
		{"alice", "alice@example.com", true},
		{"Alina", "alina@example.com", true},
		{"bob", "BOB@example.com", true},
		{"carol", "carol@example.com", false},
		{"100%_sure", "", true},
		{"100x_sure", "", true},
		{"100%xsure", "", true},
		{"a_b", "", true},
		{"axb", "", true},
		{`back\slash`, "", true},
		{`backxslash`, "", true},
	} {
		var u directory.User
		if spec.email != "" {
			u = newUser(spec.name, spec.email)
		} else {
			u = newUser(spec.name)
		}
		u.Active = spec.active
		users[spec.name] = u
		insertUsers(t, s, u)
	}
	team := newGroup("team")
	other := newGroup("other")
	insertGroups(t, s, team, other)
	addMembers(t, s, team.ID, users["alice"], users["bob"], users["carol"])
	addMembers(t, s, other.ID, users["Alina"])

	yes, no := true, false
	everyone := make([]string, 0, len(users))
	activeOnes := []string{}
	for name, u := range users {
		everyone = append(everyone, name)
		if u.Active {
			activeOnes = append(activeOnes, name)
		}
	}
	for _, tc := range []struct {
		name   string
		filter directory.UserFilter
		want   []string
	}{
		{"no filter", directory.UserFilter{}, everyone},
		{"userName exact", directory.UserFilter{UserName: "ALICE"}, []string{"alice"}},
		{"userName is not a prefix", directory.UserFilter{UserName: "ali"}, nil},
		{"prefix", directory.UserFilter{Prefix: "ALI"}, []string{"alice", "Alina"}},
		{"prefix percent is literal", directory.UserFilter{Prefix: "100%"}, []string{"100%_sure", "100%xsure"}},
		{"prefix percent and underscore are literal", directory.UserFilter{Prefix: "100%_"}, []string{"100%_sure"}},
		{"prefix underscore is literal", directory.UserFilter{Prefix: "a_"}, []string{"a_b"}},
		{"prefix lone percent", directory.UserFilter{Prefix: "%"}, nil},
		{"prefix lone underscore", directory.UserFilter{Prefix: "_"}, nil},
		{"prefix backslash is literal", directory.UserFilter{Prefix: `back\`}, []string{`back\slash`}},
		{"email", directory.UserFilter{Email: "Alice@Example.com"}, []string{"alice"}},
		{"email stored in upper case", directory.UserFilter{Email: "bob@EXAMPLE.com"}, []string{"bob"}},
		{"unknown email", directory.UserFilter{Email: "nobody@example.com"}, nil},
		{"group", directory.UserFilter{GroupID: team.ID}, []string{"alice", "bob", "carol"}},
		{"other group", directory.UserFilter{GroupID: other.ID}, []string{"Alina"}},
		{"unknown group", directory.UserFilter{GroupID: newID()}, nil},
		{"active", directory.UserFilter{Active: &yes}, activeOnes},
		{"inactive", directory.UserFilter{Active: &no}, []string{"carol"}},
		{"group and active", directory.UserFilter{GroupID: team.ID, Active: &yes}, []string{"alice", "bob"}},
		{"prefix, group and active", directory.UserFilter{Prefix: "a", GroupID: team.ID, Active: &yes}, []string{"alice"}},
		{"group and inactive", directory.UserFilter{GroupID: team.ID, Active: &no}, []string{"carol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{2, 1000} { // the filter holds across pages
				f := tc.filter
				f.Limit = limit
				got := userNames(allUsers(t, s, f))
				if d := diff(sortedNorm(tc.want), got); d != "" {
					t.Errorf("limit %d (-want +got):\n%s", limit, d)
				}
			}
		})
	}
}

func testUserZeroLimit(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	insertUsers(t, s, newUser("one"), newUser("two"))
	g := newGroup("g")
	insertGroups(t, s, g)
	us, next, err := s.ListUsers(ctx, directory.UserFilter{})
	if err != nil || len(us) != 2 || next != "" {
		t.Errorf("ListUsers with no limit = %d users, next %q, %v; want 2, \"\", nil", len(us), next, err)
	}
	gs, next, err := s.ListGroups(ctx, directory.GroupFilter{})
	if err != nil || len(gs) != 1 || next != "" {
		t.Errorf("ListGroups with no limit = %d groups, next %q, %v; want 1, \"\", nil", len(gs), next, err)
	}
	addMembers(t, s, g.ID, us...)
	ms, next, err := s.ListMembers(ctx, g.ID, "", 0)
	if err != nil || len(ms) != 2 || next != "" {
		t.Errorf("ListMembers with no limit = %d members, next %q, %v; want 2, \"\", nil", len(ms), next, err)
	}
}

func testUserDeleteCascades(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	gone := newUser("leaver", "leaver@example.com")
	stays := newUser("stayer")
	insertUsers(t, s, gone, stays)
	g1, g2 := newGroup("g1"), newGroup("g2")
	insertGroups(t, s, g1, g2)
	addMembers(t, s, g1.ID, gone, stays)
	addMembers(t, s, g2.ID, gone)
	inTx(t, s, func(tx *sqlstore.Tx) error {
		if err := tx.SetPasswordHash(ctx, gone.ID, "hash-1", t0); err != nil {
			return err
		}
		return tx.SetPasswordHash(ctx, stays.ID, "hash-2", t0)
	})

	inTx(t, s, func(tx *sqlstore.Tx) error { return tx.DeleteUser(ctx, gone.ID) })

	_, err := s.GetUser(ctx, gone.ID)
	wantNotFound(t, err)
	_, err = s.GetUserByUserName(ctx, gone.UserName)
	wantNotFound(t, err)
	_, err = s.PasswordHash(ctx, gone.ID)
	wantNotFound(t, err)
	if h, err := s.PasswordHash(ctx, stays.ID); err != nil || h != "hash-2" {
		t.Errorf("other user's password = %q, %v", h, err)
	}
	for _, tc := range []struct {
		group directory.Group
		want  []string
	}{{g1, []string{"stayer"}}, {g2, nil}} {
		ms, _, err := s.ListMembers(ctx, tc.group.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range ms {
			names = append(names, m.UserName)
		}
		if d := diff(tc.want, names); d != "" {
			t.Errorf("members of %s (-want +got):\n%s", tc.group.DisplayName, d)
		}
		g, err := s.GetGroup(ctx, tc.group.ID)
		if err != nil || g.MemberCount != len(tc.want) {
			t.Errorf("%s MemberCount = %d, %v; want %d", tc.group.DisplayName, g.MemberCount, err, len(tc.want))
		}
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM group_members WHERE user_id = $1`,
		`SELECT COUNT(*) FROM passwords WHERE user_id = $1`,
	} {
		if n := countRows(t, s, q, gone.ID); n != 0 {
			t.Errorf("%s = %d, want 0", q, n)
		}
	}
	// The email is free again.
	insertUsers(t, s, newUser("newcomer", "LEAVER@example.com"))
	err = s.WithTx(ctx, func(tx *sqlstore.Tx) error { return tx.DeleteUser(ctx, gone.ID) })
	wantNotFound(t, err)
}

func testCountAdmins(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	steps := []struct {
		name string
		user func() directory.User
		want int
	}{
		{"empty", nil, 0},
		{"plain user", func() directory.User { return newUser("plain") }, 0},
		{"auditor", func() directory.User { u := newUser("aud"); u.Role = directory.RoleAuditor; return u }, 0},
		{"active admin", func() directory.User { u := newUser("adm1"); u.Role = directory.RoleAdmin; return u }, 1},
		{"inactive admin", func() directory.User {
			u := newUser("adm2")
			u.Role, u.Active = directory.RoleAdmin, false
			return u
		}, 1},
		{"second active admin", func() directory.User { u := newUser("adm3"); u.Role = directory.RoleAdmin; return u }, 2},
	}
	var users []directory.User
	for _, st := range steps {
		if st.user != nil {
			u := st.user()
			users = append(users, u)
			insertUsers(t, s, u)
		}
		n, err := s.CountAdmins(ctx)
		if err != nil || n != st.want {
			t.Errorf("after %s: CountAdmins = %d, %v; want %d", st.name, n, err, st.want)
		}
		// Inside a transaction the count also locks the admins' rows; it
		// gives the same answer.
		inTx(t, s, func(tx *sqlstore.Tx) error {
			n, err := tx.CountAdmins(ctx)
			if err != nil || n != st.want {
				t.Errorf("after %s: tx.CountAdmins = %d, %v; want %d", st.name, n, err, st.want)
			}
			return nil
		})
	}
	// Counting changed nobody.
	for _, u := range users {
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(u, got); d != "" {
			t.Errorf("%s after counting (-want +got):\n%s", u.UserName, d)
		}
	}
}
