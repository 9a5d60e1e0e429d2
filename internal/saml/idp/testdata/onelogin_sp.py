"""A minimal python3-saml (OneLogin) service provider for idcenter's interop tests.

Usage: onelogin_sp.py SETTINGS_JSON
Listens on 127.0.0.1 (a free port, printed as the first stdout line) and reads
the OneLogin settings file at every request, so the test can write it after
learning the port.
  GET  /login  -> 302 to the IdP with an AuthnRequest (HTTP-Redirect)
  POST /acs    -> validates the SAMLResponse (strict), answers JSON
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

from onelogin.saml2.auth import OneLogin_Saml2_Auth

SETTINGS = sys.argv[1]
state = {"request_id": None}


def auth_for(handler, post=None):
    with open(SETTINGS) as f:
        settings = json.load(f)
    host, port = handler.server.server_address[:2]
    url = urllib.parse.urlsplit(handler.path)
    req = {
        "https": "off",
        "http_host": "%s:%d" % (host, port),
        "server_port": str(port),
        "script_name": url.path,
        "get_data": dict(urllib.parse.parse_qsl(url.query)),
        "post_data": post or {},
    }
    return OneLogin_Saml2_Auth(req, settings)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        data = body.encode()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if not self.path.startswith("/login"):
            return self.reply(404, "not found")
        auth = auth_for(self)
        target = auth.login(return_to="sp-relay")
        state["request_id"] = auth.get_last_request_id()
        self.reply(302, "", [("Location", target)])

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        post = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        auth = auth_for(self, post)
        rid = state["request_id"]
        state["request_id"] = None
        auth.process_response(request_id=rid)
        out = {
            "authenticated": auth.is_authenticated(),
            "errors": auth.get_errors(),
            "reason": auth.get_last_error_reason(),
            "nameId": auth.get_nameid(),
            "nameIdFormat": auth.get_nameid_format(),
            "sessionIndex": auth.get_session_index(),
            "attributes": auth.get_attributes(),
            "relayState": post.get("RelayState"),
            "inResponseTo": rid,
        }
        self.reply(200, json.dumps(out), [("Content-Type", "application/json")])


srv = HTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
