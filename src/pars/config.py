"""The one settings object. Nothing else in PARS reads the environment.

Every setting is a `PARS_` environment variable (or a field passed to `Settings(...)`). An unknown
`PARS_` variable is an error at start-up, so a typo never silently falls back to a default.
`PARS_TEST_*` variables belong to the test suite and are ignored here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "UnknownSetting", "check_environment"]


class UnknownSetting(ValueError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARS_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("pars-data"),
        description="Directory for the SQLite database and generated keys.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite at <data_dir>/pars.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    encryption_keys: str | None = Field(
        default=None,
        description="Comma-separated 'key-id:base64-32-bytes'; the first encrypts, all decrypt. "
        "Unset means the key file <data_dir>/encryption.keys written by `pars init`.",
    )
    audit_signing_key: str | None = Field(
        default=None,
        description="Base64 Ed25519 seed that signs the disclosure log's checkpoints. Unset means "
        "the key file <data_dir>/audit-signing.key written by `pars keys generate`.",
    )
    checkpoint_interval_seconds: int = Field(
        default=60,
        ge=1,
        le=24 * 3600,
        description="How often the relay signs a checkpoint of the disclosure log when it grew.",
    )
    jurisdiction: str = Field(default="Philadelphia, PA", description="Shown on pages and exports.")
    timezone: str = Field(default="America/New_York", description="The courts' local time zone.")
    collect_place_of_birth: bool = Field(
        default=True, description="When false, the API refuses place_of_birth."
    )
    collect_citizenship: bool = Field(
        default=True, description="When false, the API refuses citizenship."
    )
    otn_prefix: str = Field(default="Q", pattern=r"^[A-Z]$", description="First OTN letter.")
    court_code: str = Field(default="MC", pattern=r"^[A-Z]{2}$")
    county_code: str = Field(default="51", pattern=r"^\d{2}$")
    case_type: str = Field(default="CR", pattern=r"^[A-Z]{2}$")
    charge_catalogue: Path | None = Field(
        default=None, description="CSV of the jurisdiction's offenses; unset means Pennsylvania's."
    )
    policy: str = Field(
        default="default",
        description="Jurisdiction data-sharing policy: 'default', 'sanctuary' or a YAML file path.",
    )
    release_rule: str = Field(
        default="pars.domain.release:pennsylvania_rule",
        description="module:function deciding release without arraignment.",
    )
    limited_access_rule: str = Field(
        default="pars.domain.limited_access:pennsylvania_clean_slate",
        description="module:function deciding when a record is sealed without a court order "
        "(`pars lifecycle run`, and the relay once a day); see docs/limited-access.md.",
    )
    limited_access_wait_days: int = Field(
        default=30,
        ge=0,
        le=366 * 20,
        description="Days after a case ended here without a conviction before the limited-access "
        "rule seals it (Pennsylvania: within 30 days of the disposition, 18 Pa.C.S. 9122.2; "
        "counsel must confirm).",
    )
    sealed_read_roles: str = Field(
        default="clerk,magistrate",
        description="Comma-separated staff roles that may read a sealed record (the clerk and "
        "the court by default); each such read is audited, other roles get 404 as for an "
        "unknown id.",
    )
    recall_attestation_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days a partner has to attest that it carried out a recall notice "
        "(destroyed, restricted or replaced its copies); unattested after that, it is overdue.",
    )
    arraignment_deadline_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 7,
        description="Hours from arrest by which the preliminary arraignment must be held (the "
        "constitutional outer limit is 48); the charging queue warns as it nears.",
    )
    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    session_idle_minutes: int = Field(default=30, ge=1, le=30)
    require_mfa: bool = Field(
        default=True,
        description="Staff screens ask for a TOTP second factor after the password (CJIS). "
        "Only `pars demo` turns it off, for its own database.",
    )
    lockout_threshold: int = Field(default=5, ge=1, le=5)
    lockout_minutes: int = Field(default=10, ge=10)
    logon_throttle_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="The window of the logon throttles: each bucket refills over this time.",
    )
    logon_attempts_per_address: int = Field(
        default=30,
        ge=1,
        description="Logon tries (API token and sign-in screen) one source address may make "
        "per throttle window; then 429 with Retry-After.",
    )
    logon_failures_per_name: int = Field(
        default=3,
        ge=1,
        description="Failed logons for one username from one source address per throttle "
        "window before that pair waits (429). Keep it below PARS_LOCKOUT_THRESHOLD, so one "
        "address alone can never lock an account.",
    )
    logon_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Password (argon2) checks at once per process; a logon beyond them "
        "answers 429 with Retry-After instead of waiting.",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    tls_in_front: bool = Field(
        default=False,
        description="TLS is terminated in front of PARS (a reverse proxy serving https only): "
        "every response then carries Strict-Transport-Security (HSTS).",
    )
    intake_group_limit: int = Field(
        default=32,
        ge=1,
        le=256,
        description="Arrests entered at the same moment share one transaction, each in its own "
        "savepoint, up to this many (group commit: see store/group_commit.py); 1 commits each "
        "on its own.",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    push_concurrency: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Webhook and NATS sends in flight at once, each to a different partner (a "
        "partner's items go one at a time, in order); a slow partner holds only its own.",
    )
    webhook_allowlist: str | None = Field(
        default=None,
        description="Comma-separated host names, addresses and CIDRs that webhooks may reach "
        "although they are loopback, private, link-local or metadata targets (an in-house "
        "receiver), and over plain http; unset: webhooks go only to public addresses over https.",
    )
    serve_header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="`pars serve` closes a connection whose request line and headers are not "
        "all in within this time of its opening (or of its previous answer): slow clients.",
    )
    serve_keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        le=300,
        description="`pars serve` closes an idle keep-alive connection after this long.",
    )
    serve_limit_concurrency: int = Field(
        default=512,
        ge=2,
        le=100_000,
        description="Open connections (SSE streams included) and requests at once in one "
        "`pars serve` process; a request beyond them is answered 503.",
    )
    serve_max_header_bytes: int = Field(
        default=16_384,
        ge=1024,
        le=1_048_576,
        description="Largest request line and headers `pars serve` reads; beyond it, 400.",
    )
    nats_url: str | None = Field(
        default=None,
        description="NATS server(s) for partners whose agreements use the 'nats' transport, e.g. "
        "nats://user:pass@host:4222 (comma-separated for a cluster); unset: none are sent.",
    )
    nats_stream: str = Field(
        default="PARS",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="JetStream stream (one per deployment) that holds `pars.partner.>`.",
    )
    nats_duplicate_window_seconds: int = Field(
        default=120,
        ge=1,
        le=7 * 24 * 3600,
        description="How long JetStream remembers a Nats-Msg-Id to drop a retried duplicate.",
    )
    nats_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replicas of the JetStream stream (3 on a three-node cluster, so that a node "
        "may fail with nothing lost); applied when PARS creates the stream or connects.",
    )
    nats_seed_file: Path | None = Field(
        default=None,
        description="File holding PARS's own NATS nkey seed (`SU...`), with which it connects "
        "to a server whose users `pars nats config` wrote; `pars nats config` creates it. Unset: "
        "PARS connects with what PARS_NATS_URL carries, if anything.",
    )
    identity_auto_link: float | None = Field(
        default=None,
        gt=0.5,
        le=1.0,
        description="Match probability at or above which a new arrest is linked to a person "
        "record without review, e.g. 0.999; unset: never (records staff decide).",
    )
    identity_review_threshold: float = Field(
        default=0.5,
        gt=0.0,
        lt=1.0,
        description="Match probability at or above which a candidate goes on the records "
        "staff's review queue; below it the arrestee is taken for a new person.",
    )
    identity_dedupe_threshold: float = Field(
        default=0.95,
        gt=0.0,
        lt=1.0,
        description="Match probability at or above which `pars identity dedupe` puts a pair of "
        "person records on the review queue (chosen by measured F1 and precision on corrupted "
        "bookings: docs/performance.md, Identity resolution).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Bearer token that `GET /metrics` (Prometheus) requires; unset: /metrics "
        "answers 404. At least 32 characters.",
    )
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @field_validator("webhook_allowlist")
    @classmethod
    def _allowlist(cls, v: str | None) -> str | None:
        from pars.services.delivery.outbound import Allowlist

        Allowlist.parse(v)  # ValueError names the entry that is neither a host nor a CIDR
        return v

    @field_validator("sealed_read_roles")
    @classmethod
    def _sealed_roles(cls, v: str) -> str:
        from pars.domain.roles import Role

        for name in (r.strip() for r in v.split(",")):
            if name and name not in {r.value for r in Role}:
                raise ValueError(f"unknown role {name!r} in sealed_read_roles")
        return v

    @property
    def sealed_readers(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.sealed_read_roles.split(",") if r.strip())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pars.db').resolve()}"


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Refuse unknown PARS_ variables; call once at start-up."""
    env = os.environ if environ is None else environ
    known = {f"PARS_{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(
        k
        for k in env
        if k.startswith("PARS_") and not k.startswith("PARS_TEST_") and k not in known
    )
    if unknown:
        raise UnknownSetting(
            f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
