"""A minimal SAML 2.0 service provider on pysaml2, for tests.

Usage: /usr/bin/python3 pysaml2_sp.py --port N --config FILE

The IdP is configured inline (metadata XML, or entity ID, SSO/SLO URLs and
certificate turned into metadata here): nothing is fetched from the
network. Signatures are checked by xmlsec1, pysaml2's crypto backend. See
internal/testenv/pysp.go for the configuration and endpoints.
"""
import argparse
import html
import json
import os
import sys
import tempfile
import threading
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

LOCK = threading.Lock()
STATE = {"acs": None, "slo": None, "outstanding": {}, "logout_outstanding": {}, "session": None}
WORKDIR = tempfile.mkdtemp(prefix="pysaml2-sp-")


def pem_body(pem):
    return "".join(l for l in (pem or "").splitlines() if l and not l.startswith("-----"))


def idp_metadata(cfg):
    if cfg.get("idp_metadata_xml"):
        return cfg["idp_metadata_xml"]
    if not cfg.get("idp_entity_id"):
        return None
    e = html.escape
    slo = ""
    if cfg.get("idp_slo_url"):
        slo = "".join('<md:SingleLogoutService Binding="%s" Location="%s"/>' % (b, e(cfg["idp_slo_url"]))
                      for b in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST))
    sso = "".join('<md:SingleSignOnService Binding="%s" Location="%s"/>' % (b, e(cfg.get("idp_sso_url", "")))
                  for b in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST))
    return ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s'
            '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>%s%s'
            '</md:IDPSSODescriptor></md:EntityDescriptor>') % (
        e(cfg["idp_entity_id"]), pem_body(cfg.get("idp_cert_pem")), slo, sso)


def write(name, data):
    p = os.path.join(WORKDIR, name)
    with open(p, "w", encoding="utf-8") as f:
        f.write(data)
    return p


def make_client(cfg):
    sp = {
        "endpoints": {
            "assertion_consumer_service": [(cfg["acs_url"], BINDING_HTTP_POST)],
            "single_logout_service": [(cfg["slo_url"], BINDING_HTTP_REDIRECT), (cfg["slo_url"], BINDING_HTTP_POST)],
        },
        "allow_unsolicited": not cfg.get("reject_unsolicited"),
        "authn_requests_signed": bool(cfg.get("sign_authn_requests")),
        "logout_requests_signed": bool(cfg.get("sign_logout")),
        "logout_responses_signed": bool(cfg.get("sign_logout")),
        "want_assertions_signed": bool(cfg.get("want_assertions_signed")),
        "want_response_signed": bool(cfg.get("want_messages_signed")),
        # pysaml2 default: at least one of response/assertion signed.
        "want_assertions_or_response_signed": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
    }
    if cfg.get("name_id_format"):
        sp["name_id_format"] = cfg["name_id_format"]
    conf = {
        "entityid": cfg["entity_id"],
        "service": {"sp": sp},
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "allow_unknown_attributes": True,
        "metadata": {},
    }
    md = idp_metadata(cfg)
    if md:
        conf["metadata"] = {"inline": [md]}
    if cfg.get("sp_key_pem") and cfg.get("sp_cert_pem"):
        key = write("sp.key", cfg["sp_key_pem"])
        cert = write("sp.crt", cfg["sp_cert_pem"])
        conf["key_file"] = key
        conf["cert_file"] = cert
        conf["encryption_keypairs"] = [{"key_file": key, "cert_file": cert}]
    c = SPConfig()
    c.load(conf)
    return Saml2Client(config=c)


def idp_entity(cfg):
    md = idp_metadata(cfg)
    if not md:
        raise ValueError("no IdP configured")
    if cfg.get("idp_entity_id"):
        return cfg["idp_entity_id"]
    import re
    m = re.search(r'entityID="([^"]+)"', md)
    return html.unescape(m.group(1))


def http_reply(handler, binding, info):
    """Send what pysaml2's apply_binding returned."""
    if binding == BINDING_HTTP_REDIRECT:
        loc = dict(info["headers"])["Location"]
        return handler.send(302, "", "text/plain", [("Location", loc)])
    data = info["data"]
    return handler.send(200, data, "text/html; charset=utf-8")


class Handler(BaseHTTPRequestHandler):
    server_version = "pysaml2-sp"

    def log_message(self, fmt, *args):
        sys.stderr.write("pysaml2-sp: " + (fmt % args) + "\n")

    def send(self, code, body, ctype="application/json", headers=()):
        if isinstance(body, (dict, list)) or body is None:
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        try:
            if u.path == "/health":
                return self.send(200, {"ok": True, "kind": "pysaml2"})
            if u.path == "/metadata":
                ed = entity_descriptor(self.server.client.config)
                return self.send(200, str(ed), "application/samlmetadata+xml")
            if u.path == "/result":
                with LOCK:
                    return self.send(200, STATE["slo" if q.get("kind") == "slo" else "acs"])
            if u.path == "/login":
                return self.login(q.get("binding", "redirect"), q.get("relay", ""))
            if u.path == "/logout":
                return self.logout(q.get("relay", ""), q.get("binding", "redirect"))
            if u.path == "/sls":
                return self.sls(q, BINDING_HTTP_REDIRECT)
            return self.send(404, {"error": "not found"})
        except Exception as e:
            traceback.print_exc()
            return self.send(500, {"error": "%s: %s" % (type(e).__name__, e)})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        try:
            if u.path == "/acs":
                return self.acs(self.form())
            if u.path == "/sls":
                return self.sls(self.form(), BINDING_HTTP_POST)
            if u.path == "/config":
                n = int(self.headers.get("Content-Length") or 0)
                cfg = dict(self.server.cfg)
                cfg.update(json.loads(self.rfile.read(n)))
                client = make_client(cfg)
                self.server.cfg, self.server.client = cfg, client
                return self.send(200, {"ok": True})
            return self.send(404, {"error": "not found"})
        except Exception as e:
            traceback.print_exc()
            return self.send(500, {"error": "%s: %s" % (type(e).__name__, e)})

    def login(self, binding, relay):
        cfg = self.server.cfg
        b = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}.get(binding)
        if b is None:
            return self.send(400, {"error": "binding must be redirect or post"})
        sign = bool(cfg.get("sign_authn_requests"))
        kwargs = {}
        if sign:
            kwargs = {"sigalg": SIG_RSA_SHA256, "digest_alg": DIGEST_SHA256}
        reqid, info = self.server.client.prepare_for_authenticate(
            entityid=idp_entity(cfg), relay_state=relay, binding=b, sign=sign,
            nameid_format=cfg.get("name_id_format") or None, **kwargs)
        with LOCK:
            STATE["outstanding"][reqid] = relay
        return http_reply(self, b, info)

    def acs(self, post):
        relay = post.get("RelayState")
        result = {"ok": False, "error": "", "errors": [], "name_id": None, "name_id_format": None,
                  "session_index": None, "attributes": {}, "in_response_to": None, "relay_state": relay}
        try:
            with LOCK:
                outstanding = dict(STATE["outstanding"])
            resp = self.server.client.parse_authn_request_response(
                post.get("SAMLResponse", ""), BINDING_HTTP_POST, outstanding=outstanding)
            if resp is None:
                raise ValueError("pysaml2 returned no response (unsolicited or unparseable)")
            result["in_response_to"] = resp.in_response_to
            if resp.in_response_to and resp.in_response_to not in outstanding:
                # allow_unsolicited makes pysaml2 accept any InResponseTo;
                # a real SP must not (replay, or a response to another SP).
                raise ValueError("InResponseTo %s is not an outstanding request of this SP "
                                 "(harness check: pysaml2 would accept it as unsolicited)" % resp.in_response_to)
            if resp.assertion is None or resp.assertion.subject is None:
                raise ValueError("pysaml2 kept no valid assertion (Destination, Recipient or "
                                 "conditions refused; see the SP log)")
            nid = resp.assertion.subject.name_id
            attrs = {}
            for st in resp.assertion.attribute_statement or []:
                for a in st.attribute:
                    attrs.setdefault(a.name, []).extend(v.text for v in a.attribute_value)
            sidx = None
            for st in resp.assertion.authn_statement or []:
                sidx = st.session_index
            result.update(ok=True, name_id=nid.text, name_id_format=nid.format, session_index=sidx,
                          attributes=attrs, ava=resp.ava)
            with LOCK:
                STATE["outstanding"].pop(resp.in_response_to, None)
                STATE["session"] = {"name_id": nid, "session_index": sidx}
            self.server.client.users.add_information_about_person(resp.session_info())
        except Exception as e:
            result["error"] = "%s: %s" % (type(e).__name__, e)
            result["errors"] = [type(e).__name__]
        with LOCK:
            STATE["acs"] = result
        return self.send(200, result)

    def logout(self, relay, binding="redirect"):
        b = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}.get(binding)
        if b is None:
            return self.send(400, {"error": "binding must be redirect or post"})
        with LOCK:
            sess = STATE["session"]
        if not sess:
            return self.send(409, {"error": "no session"})
        cfg = self.server.cfg
        sign = bool(cfg.get("sign_logout"))
        client = self.server.client
        # do_logout is global_logout with the binding chosen (pysaml2 prefers
        # HTTP-Redirect over HTTP-POST when the IdP offers both).
        res = client.do_logout(sess["name_id"], client.users.issuers_of_info(sess["name_id"]), "user", None,
                               sign=sign, expected_binding=b,
                               sign_alg=SIG_RSA_SHA256 if sign else None,
                               digest_alg=DIGEST_SHA256 if sign else None)
        for _entity, (binding, info) in res.items():
            # pysaml2 keeps the outstanding LogoutRequest in its state.
            return http_reply(self, binding, info)
        return self.send(500, {"error": "no IdP to log out from"})

    def sls(self, data, binding):
        kind = "LogoutResponse" if "SAMLResponse" in data else "LogoutRequest" if "SAMLRequest" in data else None
        result = {"ok": False, "kind": kind, "error": "", "errors": [], "relay_state": data.get("RelayState"),
                  "in_response_to": None,
                  "binding": "redirect" if binding == BINDING_HTTP_REDIRECT else "post"}
        reply = None
        try:
            client = self.server.client
            if kind == "LogoutResponse":
                resp = client.parse_logout_request_response(data["SAMLResponse"], binding)
                if resp is None:
                    raise ValueError("pysaml2 returned no LogoutResponse")
                result["in_response_to"] = resp.in_response_to
                if resp.status_ok():
                    result["ok"] = True
                else:
                    result["error"] = "status: %s" % resp.response.status.status_code.value
            elif kind == "LogoutRequest":
                with LOCK:
                    sess = STATE["session"]
                sign = bool(self.server.cfg.get("sign_logout"))
                name_id = sess["name_id"] if sess else None
                info = client.handle_logout_request(data["SAMLRequest"], name_id, binding, sign=sign,
                                                    sign_alg=SIG_RSA_SHA256 if sign else None,
                                                    digest_alg=DIGEST_SHA256 if sign else None,
                                                    relay_state=data.get("RelayState", ""))
                result["ok"] = True
                reply = info
            else:
                raise ValueError("no SAMLRequest or SAMLResponse")
            if result["ok"]:
                with LOCK:
                    STATE["session"] = None
        except Exception as e:
            result["error"] = "%s: %s" % (type(e).__name__, e)
            result["errors"] = [type(e).__name__]
        with LOCK:
            STATE["slo"] = result
        if reply is not None:
            loc = dict(reply.get("headers", [])).get("Location")
            if loc:
                return self.send(302, "", "text/plain", [("Location", loc)])
            return self.send(200, reply.get("data", ""), "text/html; charset=utf-8")
        return self.send(200, result)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--config", required=True)
    a = ap.parse_args()
    with open(a.config, encoding="utf-8") as f:
        cfg = json.load(f)
    client = make_client(cfg)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.cfg, srv.client = cfg, client
    sys.stderr.write("pysaml2-sp: listening on 127.0.0.1:%d\n" % a.port)
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
