"""A minimal SAML 2.0 service provider on python3-saml (OneLogin), for tests.

Usage: /usr/bin/python3 onelogin_sp.py --port N --config FILE

Strict mode is always on. The IdP is configured inline (metadata XML or
entity ID, SSO/SLO URLs and certificate): nothing is fetched from the
network. See internal/testenv/pysp.go for the configuration and endpoints.
"""
import argparse
import base64
import html
import json
import sys
import threading
import traceback
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

LOCK = threading.Lock()
STATE = {"acs": None, "slo": None, "outstanding": {}, "logout_outstanding": {},
         "session": None}


def load_config(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pem_body(pem):
    return "".join(l for l in (pem or "").splitlines() if l and not l.startswith("-----"))


def settings_dict(cfg):
    sp = {
        "entityId": cfg["entity_id"],
        "assertionConsumerService": {"url": cfg["acs_url"], "binding": C.BINDING_HTTP_POST},
        "singleLogoutService": {"url": cfg["slo_url"], "binding": C.BINDING_HTTP_REDIRECT},
        "NameIDFormat": cfg.get("name_id_format") or C.NAMEID_UNSPECIFIED,
        "x509cert": pem_body(cfg.get("sp_cert_pem")),
        "privateKey": cfg.get("sp_key_pem") or "",
    }
    idp = {}
    if cfg.get("idp_metadata_xml"):
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(cfg["idp_metadata_xml"])
        idp = parsed.get("idp", {})
    elif cfg.get("idp_entity_id"):
        idp = {
            "entityId": cfg["idp_entity_id"],
            "singleSignOnService": {"url": cfg.get("idp_sso_url", ""), "binding": C.BINDING_HTTP_REDIRECT},
            "x509cert": pem_body(cfg.get("idp_cert_pem")),
        }
        if cfg.get("idp_slo_url"):
            idp["singleLogoutService"] = {"url": cfg["idp_slo_url"], "binding": C.BINDING_HTTP_REDIRECT}
    sign_logout = bool(cfg.get("sign_logout"))
    security = {
        "authnRequestsSigned": bool(cfg.get("sign_authn_requests")),
        "logoutRequestSigned": sign_logout,
        "logoutResponseSigned": sign_logout,
        "wantAssertionsSigned": bool(cfg.get("want_assertions_signed")),
        "wantMessagesSigned": bool(cfg.get("want_messages_signed")),
        "wantAssertionsEncrypted": bool(cfg.get("want_assertions_encrypted")),
        "wantAttributeStatement": not cfg.get("allow_no_attribute_statement"),
        "signatureAlgorithm": C.RSA_SHA256,
        "digestAlgorithm": C.SHA256,
    }
    if cfg.get("requested_authn_context") is not None:
        security["requestedAuthnContext"] = cfg["requested_authn_context"] or False
    return {"strict": True, "debug": False, "sp": sp, "idp": idp, "security": security}


def settings(cfg):
    d = settings_dict(cfg)
    return OneLogin_Saml2_Settings(d, sp_validation_only=not d["idp"])


class Handler(BaseHTTPRequestHandler):
    server_version = "onelogin-sp"

    def log_message(self, fmt, *args):
        sys.stderr.write("onelogin-sp: " + (fmt % args) + "\n")

    # -- helpers --------------------------------------------------------
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

    def redirect(self, url):
        self.send(302, "", "text/plain", [("Location", url)])

    def request_data(self, path, get_data, post_data):
        return {
            "https": "off",
            "http_host": self.headers.get("Host", "127.0.0.1:%d" % self.server.server_port),
            "script_name": path,
            "get_data": get_data,
            "post_data": post_data,
            # Keep the percent-encoding the IdP used for the signature check.
            "query_string": urllib.parse.urlsplit(self.path).query,
            "validate_signature_from_qs": True,
        }

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    # -- routes ---------------------------------------------------------
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        try:
            if u.path == "/health":
                return self.send(200, {"ok": True, "kind": "onelogin"})
            if u.path == "/metadata":
                s = settings(self.server.cfg)
                md = s.get_sp_metadata()
                errs = s.validate_metadata(md)
                if errs:
                    return self.send(500, {"error": "invalid SP metadata: %s" % errs})
                return self.send(200, md, "application/samlmetadata+xml")
            if u.path == "/result":
                with LOCK:
                    return self.send(200, STATE["slo" if q.get("kind") == "slo" else "acs"])
            if u.path == "/login":
                return self.login(q.get("binding", "redirect"), q.get("relay", ""))
            if u.path == "/logout":
                if q.get("binding", "redirect") != "redirect":
                    return self.send(400, {"error": "python3-saml sends logout requests over HTTP-Redirect only"})
                return self.logout(q.get("relay", ""))
            if u.path == "/sls":
                return self.sls(u.path, q)
            return self.send(404, {"error": "not found"})
        except Exception as e:  # never crash: report
            traceback.print_exc()
            return self.send(500, {"error": "%s: %s" % (type(e).__name__, e)})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        try:
            if u.path == "/acs":
                return self.acs(u.path, self.form())
            if u.path == "/sls":
                return self.sls(u.path, self.form(), post=True)
            if u.path == "/config":
                n = int(self.headers.get("Content-Length") or 0)
                upd = json.loads(self.rfile.read(n))
                cfg = dict(self.server.cfg)
                cfg.update(upd)
                settings(cfg)  # validate before switching
                self.server.cfg = cfg
                return self.send(200, {"ok": True})
            return self.send(404, {"error": "not found"})
        except Exception as e:
            traceback.print_exc()
            return self.send(500, {"error": "%s: %s" % (type(e).__name__, e)})

    def login(self, binding, relay):
        s = settings(self.server.cfg)
        auth = OneLogin_Saml2_Auth(self.request_data("/login", {}, {}), s)
        if binding == "redirect":
            url = auth.login(return_to=relay)
            rid = auth.get_last_request_id()
            with LOCK:
                STATE["outstanding"][rid] = relay
            return self.redirect(url)
        if binding != "post":
            return self.send(400, {"error": "binding must be redirect or post"})
        req = OneLogin_Saml2_Authn_Request(s)
        xml = req.get_xml()
        if s.get_security_data().get("authnRequestsSigned"):
            sp = s.get_sp_data()
            xml = OneLogin_Saml2_Utils.add_sign(xml, sp["privateKey"], sp["x509cert"],
                                                sign_algorithm=C.RSA_SHA256, digest_algorithm=C.SHA256)
        if isinstance(xml, str):
            xml = xml.encode("utf-8")
        with LOCK:
            STATE["outstanding"][req.get_id()] = relay
        sso = s.get_idp_data()["singleSignOnService"]["url"]
        page = ('<!DOCTYPE html><html><body><form method="post" action="%s">'
                '<input type="hidden" name="SAMLRequest" value="%s">'
                '<input type="hidden" name="RelayState" value="%s">'
                '<button type="submit">Continue</button></form></body></html>') % (
            html.escape(sso), base64.b64encode(xml).decode(), html.escape(relay))
        return self.send(200, page, "text/html; charset=utf-8")

    def acs(self, path, post):
        relay = post.get("RelayState")
        result = {"ok": False, "error": "", "errors": [], "name_id": None, "name_id_format": None,
                  "session_index": None, "attributes": {}, "in_response_to": None,
                  "relay_state": relay}
        try:
            s = settings(self.server.cfg)
            auth = OneLogin_Saml2_Auth(self.request_data(path, {}, post), s)
            irt = None
            try:
                irt = OneLogin_Saml2_Response(s, post.get("SAMLResponse", "")).get_in_response_to()
            except Exception:
                pass
            result["in_response_to"] = irt
            with LOCK:
                known = irt is not None and irt in STATE["outstanding"]
            # Solicited: check against our request. Unknown InResponseTo:
            # pass a request ID it cannot match, so the library refuses it.
            request_id = irt if known else (None if irt is None else "_no_such_outstanding_request")
            auth.process_response(request_id=request_id)
            errs = auth.get_errors()
            if errs:
                result["errors"] = errs
                result["error"] = auth.get_last_error_reason() or ",".join(errs)
            else:
                result.update(ok=True, name_id=auth.get_nameid(), name_id_format=auth.get_nameid_format(),
                              session_index=auth.get_session_index(), attributes=auth.get_attributes())
                with LOCK:
                    if known:
                        STATE["outstanding"].pop(irt, None)
                    STATE["session"] = {"name_id": auth.get_nameid(), "name_id_format": auth.get_nameid_format(),
                                        "session_index": auth.get_session_index(),
                                        "spnq": auth.get_nameid_spnq(), "nq": auth.get_nameid_nq()}
        except Exception as e:
            result["error"] = "%s: %s" % (type(e).__name__, e)
            result["errors"] = ["exception"]
        with LOCK:
            STATE["acs"] = result
        return self.send(200, result)

    def logout(self, relay):
        s = settings(self.server.cfg)
        auth = OneLogin_Saml2_Auth(self.request_data("/logout", {}, {}), s)
        with LOCK:
            sess = STATE["session"] or {}
        url = auth.logout(return_to=relay, name_id=sess.get("name_id"), session_index=sess.get("session_index"),
                          name_id_format=sess.get("name_id_format"), nq=sess.get("nq"), spnq=sess.get("spnq"))
        with LOCK:
            STATE["logout_outstanding"][auth.get_last_request_id()] = relay
        return self.redirect(url)

    def sls(self, path, data, post=False):
        # python3-saml handles logout messages over HTTP-Redirect only; a
        # POSTed message is handed over the same way (its signature, if
        # any, is then only in the XML).
        s = settings(self.server.cfg)
        rd = self.request_data(path, data, {})
        if post:
            rd.pop("query_string", None)
            rd.pop("validate_signature_from_qs", None)
        auth = OneLogin_Saml2_Auth(rd, s)
        kind = "LogoutResponse" if "SAMLResponse" in data else "LogoutRequest" if "SAMLRequest" in data else None
        result = {"ok": False, "kind": kind, "error": "", "errors": [], "relay_state": data.get("RelayState"),
                  "in_response_to": None, "binding": "post" if post else "redirect"}
        url = None
        try:
            request_id = None
            if kind == "LogoutResponse":
                from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
                try:
                    irt = OneLogin_Saml2_Logout_Response(s, data["SAMLResponse"]).get_in_response_to()
                except Exception:
                    irt = None
                result["in_response_to"] = irt
                with LOCK:
                    request_id = irt if irt in STATE["logout_outstanding"] else "_no_such_outstanding_request"
            url = auth.process_slo(keep_local_session=True, request_id=request_id)
            errs = auth.get_errors()
            if errs:
                result["errors"] = errs
                result["error"] = auth.get_last_error_reason() or ",".join(errs)
            else:
                result["ok"] = True
                with LOCK:
                    STATE["session"] = None
                    if kind == "LogoutResponse":
                        STATE["logout_outstanding"].pop(request_id, None)
        except Exception as e:
            result["error"] = "%s: %s" % (type(e).__name__, e)
            result["errors"] = ["exception"]
        with LOCK:
            STATE["slo"] = result
        if url and result["ok"]:
            return self.redirect(url)
        return self.send(200, result)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--config", required=True)
    a = ap.parse_args()
    cfg = load_config(a.config)
    settings(cfg)  # fail at start on a bad configuration
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.cfg = cfg
    sys.stderr.write("onelogin-sp: listening on 127.0.0.1:%d\n" % a.port)
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
