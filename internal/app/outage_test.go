package app_test

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcenter/idcenter/internal/testenv"
)

// tcpProxy forwards a loopback port to PostgreSQL and can cut every
// connection, standing in for a database that goes away and comes back.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// down stops accepting and cuts every open connection.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// up listens again on the same address.
func (p *tcpProxy) up() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("re-listen: %v", err)
	}
	p.serve(ln)
}

// TestDatabaseOutage: requests fail closed with 503 while PostgreSQL is
// unreachable, /readyz fails and /healthz does not, and service resumes
// when the database returns.
func TestDatabaseOutage(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	s := start(t, testConfig(t, u.String()))
	s.must(201, "POST", "/api/v1/users", map[string]any{"userName": "dave"})

	proxy.down()
	if r := s.do("GET", "/readyz", "", nil); r.Status != 503 {
		t.Fatalf("readyz during outage: %d", r.Status)
	}
	if r := s.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz during outage: %d", r.Status)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/users/dave"}, {"POST", "/api/v1/users"}} {
		r := s.do(c.method, c.path, adminToken, `{"userName":"erin"}`)
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %s during outage: %d %s", c.method, c.path, r.Status, r.Body)
		}
		if strings.Contains(strings.ToLower(string(r.Body)), "dial") || strings.Contains(string(r.Body), "127.0.0.1") {
			t.Fatalf("outage error leaks internals: %s", r.Body)
		}
	}

	proxy.up()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := s.do("GET", "/api/v1/users/dave", adminToken, nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := s.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz after outage: %d", r.Status)
	}
	// the failed create during the outage left nothing behind
	s.must(404, "GET", "/api/v1/users/erin", nil)
}
