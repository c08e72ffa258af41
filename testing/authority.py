"""A local HTTPS stand-in for the Microsoft Entra token endpoint (Bot Connector and Graph tokens).

msal (what botframework-connector uses for outbound tokens) only accepts an `https` authority,
so this serves TLS with a throwaway CA and server certificate generated here at run time; the
bot process trusts that CA through `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`. It answers what msal
asks for: tenant discovery (`/{tenant}/v2.0/.well-known/openid-configuration`, or
`/adfs/.well-known/openid-configuration` for an ADFS-shaped authority), the instance
discovery document, and the client-credentials token request. Tokens are HS256 JWTs under a
per-run secret so the local Bot Connector and Graph stand-ins can check every call carries one.
Token requests are counted per scope (``token:https://graph.microsoft.com``), and
``scope_latency`` delays one scope's tokens only. :class:`ThreadedAuthority` serves it from its
own thread and loop: botframework fetches its token synchronously on the bot's event loop, which
would deadlock against a server on that same loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import ssl
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TOKEN_LIFETIME_SECONDS = 3599
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com"
GRAPH_SCOPE = "https://graph.microsoft.com"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a 127.0.0.1 server certificate it signed: (ca.pem, server.pem, server.key)."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("Dialogue Bot benchmark CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # RSA 2048 like the real endpoint's certificate, so the bot's TLS handshakes cost the same.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


class LocalAuthority:
    """Tenant discovery and client-credentials tokens over HTTPS on 127.0.0.1."""

    def __init__(self, app_id: str, app_password: str, directory: Path, latency: float = 0.0):
        self.app_id = app_id
        self._password = app_password
        self._directory = directory
        #: Seconds each answer waits: the round trip to the real endpoint, when simulated.
        self.latency = latency
        self.secret = secrets.token_urlsafe(32)
        self.ca_file: Path | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        #: Extra seconds before a token of this audience is answered (e.g. the Graph scope).
        self.scope_latency: dict[str, float] = {}

    @property
    def base_url(self) -> str:
        """`https://127.0.0.1:PORT`."""
        return f"https://127.0.0.1:{self._port}"

    def login_url(self, tenant: str = "botframework.com") -> str:
        """The authority to give the bot as `TO_CHANNEL_FROM_BOT_LOGIN_URL`."""
        return f"{self.base_url}/{tenant}"

    def hits(self) -> dict[str, int]:
        """Requests answered, by kind (discovery, instance, token, refused)."""
        with self._lock:
            return dict(self._hits)

    def reset(self) -> None:
        """Forget the counts."""
        with self._lock:
            self._hits.clear()

    async def start(self) -> LocalAuthority:
        """Generate the certificates and listen on a free loopback port."""
        self.ca_file, cert, key = make_certificates(self._directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_get("/common/discovery/instance", self._instance)
        app.router.add_get("/adfs/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery)
        app.router.add_post("/adfs/oauth2/token", self._token)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _count(self, kind: str) -> None:
        with self._lock:
            self._hits[kind] += 1

    async def _wait(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    async def _instance(self, request: web.Request) -> web.Response:
        self._count("instance")
        await self._wait()
        return web.json_response(
            {
                "tenant_discovery_endpoint": (
                    f"{self.base_url}/botframework.com/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [],
            }
        )

    async def _discovery(self, request: web.Request) -> web.Response:
        self._count("discovery")
        await self._wait()
        tenant = request.match_info.get("tenant", "adfs")
        root = f"{self.base_url}/{tenant}"
        token = f"{root}/oauth2/token" if tenant == "adfs" else f"{root}/oauth2/v2.0/token"
        return web.json_response(
            {
                "issuer": f"{root}/v2.0" if tenant != "adfs" else root,
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": token,
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "token"],
                "jwks_uri": f"{root}/discovery/v2.0/keys",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        await self._wait()
        scope = str(form.get("scope", ""))
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.app_id
            or form.get("client_secret") != self._password
            or not scope.endswith("/.default")
        ):
            self._count("refused")
            return web.json_response(
                {"error": "invalid_client", "error_description": "AADSTS7000215 (local)"},
                status=401,
            )
        audience = scope.split()[0].removesuffix("/.default")
        self._count("token")
        self._count(f"token:{audience}")
        if self.scope_latency.get(audience):
            await asyncio.sleep(self.scope_latency[audience])
        now = int(time.time())
        token = jwt.encode(
            {
                "aud": audience,
                "iss": f"{self.base_url}/botframework.com/",
                "appid": self.app_id,
                "iat": now,
                "nbf": now,
                "exp": now + TOKEN_LIFETIME_SECONDS,
            },
            self.secret,
            algorithm="HS256",
        )
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": token,
            }
        )


def check_token(
    authorization: str | None, secret: str, app_id: str, audience: str = BOT_FRAMEWORK_SCOPE
) -> bool:
    """Whether an outbound call's `Authorization` carries a token this authority issued."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=audience)
    except jwt.PyJWTError:
        return False
    return claims.get("appid") == app_id


class ThreadedAuthority:
    """A :class:`LocalAuthority` on its own event loop in a daemon thread."""

    def __init__(self, app_id: str, app_password: str, directory: Path) -> None:
        self.authority = LocalAuthority(app_id, app_password, directory)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalAuthority:
        """Listen; returns the authority (its counts and switches are thread-safe)."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.authority.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.authority.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="LocalAuthority", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the local authority did not start")
        return self.authority

    def __enter__(self) -> LocalAuthority:
        """Started for a `with` block (a test module's fixture)."""
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening and end the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None
