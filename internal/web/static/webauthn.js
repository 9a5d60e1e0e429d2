// webauthn.js drives WebAuthn ceremonies for idcenter pages. There is no
// inline script (the CSP forbids it): the page puts everything this needs in
// data-* attributes of the buttons:
//
//   #webauthn-register  data-begin, data-finish, data-csrf, [data-return-to]
//                       reads #webauthn-name and, when present, #webauthn-password
//   #webauthn-signin    data-begin, data-finish, data-csrf, [data-return-to]
//
// Each ceremony POSTs JSON to data-begin (with the CSRF token in the
// X-CSRF-Token header), gets {ceremony, options}, runs
// navigator.credentials.create/get, POSTs {ceremony, credential} to
// data-finish and follows the {redirect} it answers. Errors appear in
// #webauthn-status.
(function () {
  'use strict';

  function b64urlToBuf(s) {
    s = String(s).replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64url(buf) {
    if (!buf) return undefined;
    var bytes = new Uint8Array(buf);
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    if (!list) return list;
    return list.map(function (c) {
      var d = Object.assign({}, c);
      d.id = b64urlToBuf(c.id);
      return d;
    });
  }

  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64urlToBuf(pk.user.id) });
    if (pk.excludeCredentials) pk.excludeCredentials = descriptors(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    if (pk.allowCredentials) pk.allowCredentials = descriptors(pk.allowCredentials);
    return pk;
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: bufToB64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (typeof r.getTransports === 'function') out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = bufToB64url(r.userHandle);
    }
    return out;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.error || ('The request failed (' + res.status + ').'));
        return data;
      });
    });
  }

  function status(text, isError) {
    var el = document.getElementById('webauthn-status');
    if (!el) return;
    el.textContent = text;
    el.className = isError ? 'error small' : 'muted small';
    if (isError) el.setAttribute('role', 'alert');
    else el.setAttribute('role', 'status');
  }

  function friendly(err) {
    if (err && err.name === 'NotAllowedError') return 'The request was cancelled or timed out. Try again.';
    if (err && err.name === 'InvalidStateError') return 'This security key is already registered.';
    if (err && err.name === 'SecurityError') return 'This browser refused the request for this site.';
    return (err && err.message) || 'Something went wrong. Try again.';
  }

  function supported() {
    return window.PublicKeyCredential && navigator.credentials && typeof navigator.credentials.create === 'function';
  }

  function run(button, begin) {
    if (!supported()) {
      status('This browser does not support security keys or passkeys.', true);
      return;
    }
    var csrf = button.getAttribute('data-csrf') || '';
    var returnTo = button.getAttribute('data-return-to') || '';
    button.disabled = true;
    status('Follow the instructions of your browser or security key…', false);
    begin(csrf)
      .then(function (result) {
        return post(button.getAttribute('data-finish'), csrf, {
          ceremony: result.ceremony, credential: credentialJSON(result.credential), return_to: returnTo
        });
      })
      .then(function (data) {
        status('Done.', false);
        window.location.assign(data.redirect || '/start');
      })
      .catch(function (err) {
        status(friendly(err), true);
        button.disabled = false;
      });
  }

  function register(button) {
    run(button, function (csrf) {
      var name = document.getElementById('webauthn-name');
      var password = document.getElementById('webauthn-password');
      var body = { name: name ? name.value : '' };
      if (password) body.password = password.value;
      return post(button.getAttribute('data-begin'), csrf, body).then(function (c) {
        if (password) password.value = '';
        return navigator.credentials.create({ publicKey: creationOptions(c.options) }).then(function (cred) {
          return { ceremony: c.ceremony, credential: cred };
        });
      });
    });
  }

  function signIn(button) {
    run(button, function (csrf) {
      return post(button.getAttribute('data-begin'), csrf, {}).then(function (c) {
        return navigator.credentials.get({ publicKey: requestOptions(c.options) }).then(function (cred) {
          return { ceremony: c.ceremony, credential: cred };
        });
      });
    });
  }

  function init() {
    var reg = document.getElementById('webauthn-register');
    if (reg) {
      var form = reg.form;
      if (form) {
        form.addEventListener('submit', function (e) {
          e.preventDefault();
          if (!reg.disabled) register(reg);
        });
      } else {
        reg.addEventListener('click', function () { register(reg); });
      }
    }
    var sig = document.getElementById('webauthn-signin');
    if (sig) sig.addEventListener('click', function () { signIn(sig); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
