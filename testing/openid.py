"""A local OpenID metadata + JWKS server, and tokens shaped like the Bot Connector's.

:class:`OpenIdServer` answers ``/.well-known/openidconfiguration`` and ``/keys`` (under a
random per-server prefix) the way ``login.botframework.com`` does, from a
``ThreadingHTTPServer`` in its own thread: the bot's fetch is a real HTTP call, and a slow or
failing endpoint never blocks the test's event loop (which is exactly what the tests must
observe about the bot's). Switches: ``delay`` / ``delays`` (seconds), ``fail_status`` (answer
every request with an error), :meth:`stop` (connection refused; :meth:`start` again reopens
the same port) and :meth:`hits` (requests per path).

:class:`TokenFactory` mints JWTs with PyJWT and ``cryptography`` RSA keys, plus the two classic
forgeries: ``alg: none`` and HS256 keyed with the public key. :class:`SignedBot` is the
``BotUnderTest`` harness with an ``Authorization`` header on its requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from testing.teams import BotUnderTest

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CONFIG_PATH = "/.well-known/openidconfiguration"
KEYS_PATH = "/keys"
PEOPLE_PATH = "/people"
TOKEN_PATH = "/token"
SSO_SCOPE = "access_as_user"

# Sentinel for "use the default" where None already means "leave it out".
_DEFAULT: Any = object()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_int(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKey:
    """An RSA key pair with the JWKS metadata the Bot Framework publishes for it."""

    private_key: rsa.RSAPrivateKey
    kid: str
    endorsements: tuple[str, ...] = ("msteams",)
    certificate: x509.Certificate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Real Bot Framework keys carry x5c/x5t; a validator may read either form.
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.botframework.test")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.private_key, hashes.SHA256())
        )

    @classmethod
    def generate(
        cls, kid: str | None = None, endorsements: Iterable[str] = ("msteams",)
    ) -> SigningKey:
        """A fresh 2048-bit key (a random kid unless one is given)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key, kid or secrets.token_urlsafe(16), tuple(endorsements))

    @property
    def x5t(self) -> str:
        """The certificate's SHA-1 thumbprint, base64url, as in JWKS and token headers."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        # SHA-1 because x5t is defined as the SHA-1 thumbprint (RFC 7515), not for security.
        return _b64url(hashlib.sha1(der).digest())

    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo): the HS256 confusion attack's secret."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWKS entry, endorsements included."""
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _b64url_int(numbers.n),
            "e": _b64url_int(numbers.e),
            "x5c": [base64.b64encode(der).decode()],
            "endorsements": list(self.endorsements),
        }


class OpenIdServer:
    """OpenID configuration and JWKS over real HTTP on 127.0.0.1, served from its own thread."""

    def __init__(
        self,
        *,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        keys: Iterable[SigningKey] | None = None,
        host: str = "127.0.0.1",
        prefix: str | None = None,
    ) -> None:
        """Configure the server with the given keys (one fresh msteams key if none)."""
        self.issuer = issuer
        self._host = host
        # A per-server path prefix: a metadata cache keyed by URL (the SDK keeps one for the
        # whole process) must not hand one test the keys of an earlier server on a reused port.
        self.prefix = f"/t{secrets.token_hex(6)}" if prefix is None else prefix.rstrip("/")
        self._port: int | None = None
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = list(keys) if keys is not None else [SigningKey.generate()]
        self._hits: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        #: Seconds every request waits before it is answered.
        self.delay = 0.0
        #: Per-path waits (e.g. ``{CONFIG_PATH: 3}``), added to ``delay``.
        self.delays: dict[str, float] = {}
        #: When set, every request is answered with this status and no document.
        self.fail_status: int | None = None
        #: Entra stand-in (`make run`'s local sign-in): oid -> name of who may get a token
        #: from ``POST /token``, in ``tenant``; ``GET /people`` lists them (and ``chat``).
        self.people: dict[str, str] = {}
        self.tenant = ""
        self.chat = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> OpenIdServer:
        """Listen (on a free port, or the previous one after :meth:`stop`); returns self."""
        if self._server is not None:
            raise RuntimeError("OpenIdServer already started")
        self._stopping.clear()
        server = ThreadingHTTPServer((self._host, self._port or 0), self._handler_class())
        # Delayed handlers must not keep the process (or stop()) waiting.
        server.daemon_threads = True
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"OpenIdServer:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: from now on connections are refused."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(5.0)
        self._server = self._thread = None

    def __enter__(self) -> OpenIdServer:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/PREFIX``: the documents' URLs start with it."""
        if self._port is None:
            raise RuntimeError("OpenIdServer not started")
        return f"http://{self._host}:{self._port}{self.prefix}"

    @property
    def metadata_url(self) -> str:
        """The OpenID configuration URL (``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``)."""
        return self.base_url + CONFIG_PATH

    @property
    def jwks_url(self) -> str:
        """The JWKS URL the configuration names as ``jwks_uri``."""
        return self.base_url + KEYS_PATH

    # ------------------------------------------------------------------ keys

    @property
    def keys(self) -> list[SigningKey]:
        """The keys published now, first one first."""
        with self._lock:
            return list(self._keys)

    def add_key(self, key: SigningKey | None = None, **generate: Any) -> SigningKey:
        """Publish another key (a fresh one built with ``SigningKey.generate(**generate)``)."""
        key = key or SigningKey.generate(**generate)
        with self._lock:
            self._keys.append(key)
        return key

    def remove_key(self, kid: str) -> None:
        """Stop publishing the key with this kid."""
        with self._lock:
            self._keys = [k for k in self._keys if k.kid != kid]

    def configuration(self) -> dict[str, Any]:
        """The OpenID configuration document served."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.base_url + "/authorize",
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def jwks(self) -> dict[str, Any]:
        """The JWKS document served."""
        return {"keys": [key.jwk() for key in self.keys]}

    # ------------------------------------------------------------------ inspection

    def hits(self, path: str) -> int:
        """How many requests this path received."""
        with self._lock:
            return self._hits[path]

    def hit_counts(self) -> dict[str, int]:
        """A ``{path: requests}`` snapshot of every path requested."""
        with self._lock:
            return dict(self._hits)

    @property
    def metadata_fetches(self) -> int:
        """How many times the configuration document was requested."""
        return self.hits(CONFIG_PATH)

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWKS was requested."""
        return self.hits(KEYS_PATH)

    def reset_hits(self) -> None:
        """Forget the request counts."""
        with self._lock:
            self._hits.clear()

    # ------------------------------------------------------------------ serving

    def _answer(self, raw_path: str) -> tuple[int, dict[str, Any] | None]:
        # Counted (and configured in ``delays``) by the path without the prefix.
        path = raw_path.removeprefix(self.prefix) if raw_path.startswith(self.prefix) else raw_path
        with self._lock:
            self._hits[path] += 1
        wait = self.delay + self.delays.get(path, 0.0)
        # Event.wait rather than sleep, so stop() releases a request held by a long delay.
        if wait > 0 and self._stopping.wait(wait):
            return 503, None
        if self.fail_status is not None:
            return self.fail_status, {"error": "injected failure"}
        if raw_path == self.prefix + CONFIG_PATH:
            return 200, self.configuration()
        if raw_path == self.prefix + KEYS_PATH:
            return 200, self.jwks()
        if raw_path == self.prefix + PEOPLE_PATH and self.people:
            people = [{"oid": oid, "name": name} for oid, name in self.people.items()]
            return 200, {"people": people, "tenant": self.tenant, "chat": self.chat}
        return 404, {"error": "not found"}

    def _mint(self, raw_path: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /token`` ``{"oid", "aud"}``: a Teams SSO token for one of ``people``."""
        oid, audience = body.get("oid"), body.get("aud")
        if raw_path != self.prefix + TOKEN_PATH or oid not in self.people:
            return 404, {"error": "not found"}
        if not isinstance(audience, str) or not audience:
            return 400, {"error": "aud required"}
        token = TokenFactory(self.keys[0]).sso(str(oid), self.tenant, audience, self.people[oid])
        return 200, {"access_token": token, "token_type": "Bearer"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, document = owner._answer(self.path.split("?", 1)[0])
                body = json.dumps(document or {}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot gave up waiting (a timeout): nothing to tell it

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                path = self.path.split("?", 1)[0]
                status, document = owner._mint(path, body if isinstance(body, dict) else {})
                raw = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass  # keep pytest output for failures, not for every key fetch

        return Handler


class TokenFactory:
    """Mints Bot Connector-shaped JWTs (RS256 by default) for one app and issuer."""

    def __init__(self, key: SigningKey, *, issuer: str = BOT_FRAMEWORK_ISSUER) -> None:
        """Sign with ``key`` unless a call names another."""
        self.key = key
        self.issuer = issuer

    def claims(
        self,
        app_id: str,
        service_url: str,
        *,
        issuer: str | None = None,
        exp_offset: float = 3600,
        nbf_offset: float = -300,
        omit: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The payload: iss, aud, serviceurl, nbf and exp (offsets in seconds from now)."""
        now = int(time.time())
        # No iat: the Bot Connector's tokens have none, and PyJWT rejects a future iat, which
        # would muddle the nbf tests.
        payload: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now + int(nbf_offset),
            "exp": now + int(exp_offset),
            "iss": issuer if issuer is not None else self.issuer,
            "aud": app_id,
        }
        payload.update(extra or {})
        for name in omit:
            payload.pop(name, None)
        return payload

    def mint(
        self,
        app_id: str,
        service_url: str,
        *,
        kid: str | None = _DEFAULT,
        issuer: str | None = None,
        exp_offset: float = 3600,
        nbf_offset: float = -300,
        alg: str = "RS256",
        key: SigningKey | rsa.RSAPrivateKey | None = None,
        omit: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token; ``kid`` defaults to the signing key's (None leaves it out)."""
        signer = key or self.key
        private = signer.private_key if isinstance(signer, SigningKey) else signer
        if kid is _DEFAULT:
            kid = signer.kid if isinstance(signer, SigningKey) else self.key.kid
        header: dict[str, Any] = {"typ": "JWT"}
        if isinstance(signer, SigningKey):
            header["x5t"] = signer.x5t
        if kid is not None:
            header["kid"] = kid
        header.update(headers or {})
        payload = self.claims(
            app_id,
            service_url,
            issuer=issuer,
            exp_offset=exp_offset,
            nbf_offset=nbf_offset,
            omit=omit,
            extra=extra,
        )
        return jwt.encode(payload, private, algorithm=alg, headers=header)

    def sso(
        self,
        oid: str,
        tenant: str,
        audience: str,
        name: str = "",
        *,
        issuer: str | None = None,
        exp_offset: float = 3600,
        nbf_offset: float = -300,
        scope: str = SSO_SCOPE,
        key: SigningKey | rsa.RSAPrivateKey | None = None,
        alg: str = "RS256",
    ) -> str:
        """A token shaped like the one TeamsJS' getAuthToken returns (Entra v1 access token)."""
        now = int(time.time())
        payload = {
            "aud": audience,
            "iss": issuer if issuer is not None else f"https://sts.windows.net/{tenant}/",
            "nbf": now + int(nbf_offset),
            "exp": now + int(exp_offset),
            "tid": tenant,
            "oid": oid,
            "name": name,
            "scp": scope,
            "ver": "1.0",
        }
        signer = key or self.key
        private = signer.private_key if isinstance(signer, SigningKey) else signer
        header: dict[str, Any] = {"typ": "JWT", "kid": self.key.kid}
        if isinstance(signer, SigningKey):
            header["kid"] = signer.kid
        return jwt.encode(payload, private, algorithm=alg, headers=header)

    def unsigned(
        self, app_id: str, service_url: str, *, kid: str | None = _DEFAULT, **claims: Any
    ) -> str:
        """An ``alg: none`` token with an empty signature (valid claims, known kid)."""
        header = {"alg": "none", "typ": "JWT"}
        if kid is not None:
            header["kid"] = self.key.kid if kid is _DEFAULT else kid
        payload = self.claims(app_id, service_url, **claims)
        return f"{_segment(header)}.{_segment(payload)}."

    def hs256_with_public_key(
        self,
        app_id: str,
        service_url: str,
        *,
        kid: str | None = _DEFAULT,
        secret: bytes | None = None,
        **claims: Any,
    ) -> str:
        """HS256 keyed with the public key's PEM: accepted by a validator that trusts ``alg``."""
        header = {"alg": "HS256", "typ": "JWT"}
        if kid is not None:
            header["kid"] = self.key.kid if kid is _DEFAULT else kid
        payload = self.claims(app_id, service_url, **claims)
        signing_input = f"{_segment(header)}.{_segment(payload)}"
        # Built by hand: PyJWT (rightly) refuses a PEM public key as an HMAC secret.
        mac = hmac.new(secret or self.key.public_pem(), signing_input.encode(), hashlib.sha256)
        return f"{signing_input}.{_b64url(mac.digest())}"


def _segment(document: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(document, separators=(",", ":")).encode())


class SignedBot(BotUnderTest):
    """``BotUnderTest`` whose requests may carry headers (an ``Authorization``, above all)."""

    async def post(
        self, activity: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST one activity with these headers; the HTTP status and the JSON body, if any."""
        assert self._session is not None
        async with self._session.post(
            f"{self.url}/api/messages", json=activity, headers=dict(headers or {})
        ) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def post_token(self, activity: dict[str, Any], token: str | None) -> tuple[int, Any]:
        """POST one activity as ``Authorization: Bearer <token>`` (no header for None)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.post(activity, headers)

    async def get(self, path: str) -> tuple[int, float]:
        """GET a path of the app; the status and how long the answer took, in seconds."""
        assert self._session is not None
        started = time.monotonic()
        async with self._session.get(
            self.url + path, timeout=aiohttp.ClientTimeout(total=30)
        ) as response:
            await response.read()
            return response.status, time.monotonic() - started
