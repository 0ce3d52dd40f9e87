"""The jobs (screens) each role may open, and each role's home screen. Policy as data."""

from __future__ import annotations

from dataclasses import dataclass

from pars.domain.roles import Role

__all__ = ["HOME", "JOBS", "Job", "jobs_for"]

R = Role


@dataclass(frozen=True)
class Job:
    path: str
    title: str
    description: str
    roles: frozenset[Role]


JOBS: tuple[Job, ...] = (
    Job(
        "/booking",
        "Booking",
        "Write and submit arrest reports.",
        frozenset({R.OFFICER, R.SUPERVISOR}),
    ),
    Job(
        "/identification",
        "Identification queue",
        "Link arrestees to person records; merge and unmerge.",
        frozenset({R.SUPERVISOR}),
    ),
    Job(
        "/pretrial",
        "Pretrial interviews",
        "Record release recommendations.",
        frozenset({R.PRETRIAL}),
    ),
    Job(
        "/charging",
        "Charging queue",
        "Decide charges, oldest arrest first; file the complaint.",
        frozenset({R.PROSECUTOR}),
    ),
    Job(
        "/docket",
        "Arraignment docket",
        "The next session's cases, bail and hearing dates.",
        frozenset({R.MAGISTRATE, R.CLERK, R.DEFENDER}),
    ),
    Job(
        "/custody",
        "Custody board",
        "Who is held where, for how long, and on whose authority.",
        frozenset({R.SUPERVISOR, R.CLERK}),
    ),
    Job(
        "/agreements",
        "Agreements",
        "Data-sharing agreements, approvals and deliveries.",
        frozenset({R.PRIVACY_OFFICER}),
    ),
    Job("/audit", "Audit", "Search the log; verify its checkpoints.", frozenset({R.AUDITOR})),
    Job(
        "/dashboard",
        "Operations dashboard",
        "Arrests per day, time to arraignment, queues.",
        frozenset({R.SUPERVISOR}),
    ),
    Job(
        "/admin/users",
        "Users",
        "Add users, disable, reset second factors, roles.",
        frozenset({R.ADMIN}),
    ),
)

# Where `/` takes a signed-in user (when that screen exists; else the home page).
HOME: dict[Role, str] = {
    R.OFFICER: "/booking",
    R.SUPERVISOR: "/custody",
    R.PROSECUTOR: "/charging",
    R.MAGISTRATE: "/docket",
    R.CLERK: "/docket",
    R.DEFENDER: "/docket",
    R.PRETRIAL: "/pretrial",
    R.PRIVACY_OFFICER: "/agreements",
    R.AUDITOR: "/audit",
    R.ADMIN: "/admin/users",
}


def jobs_for(role: str) -> list[Job]:
    """The jobs a role may open, in menu order."""
    return [j for j in JOBS if role in j.roles]
