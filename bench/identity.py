"""Identity resolution: PARS and Splink 5 side by side on FEBRL 4 and on generated bookings.

    uv sync --frozen --all-groups
    uv run python -m bench.identity --json      # FEBRL 4; generated sets of 5k, 20k, 10^5, 10^6
    uv run python -m bench.identity --no-febrl --generated 100000 --online 100000

1. FEBRL 4 (tests/fixtures/febrl4) without the SSN column: precision, recall and F1, and the
   time to train and to link, for PARS (each 4b record linked to its best 4a candidate at the
   review threshold) and for Splink 5 on DuckDB, set up as in Splink's own FEBRL 4 example (its
   "detailed" model) with the SSN comparison and blocking rules left out; Splink's pairs at
   match probability >= 0.5 count as links. PARS reads each FEBRL row as an API client would
   send it (`PersonIn`, then the matching fields an arrest's person becomes), the address as
   one line of text or in parts (`--address text|parts|both`).
2. Generated sets (`--generated`): bookings with truth from :func:`generate`, a share of them
   repeat bookings of an earlier person carrying one or two of :data:`CORRUPTIONS` (typos,
   nicknames, swapped first/last names, day/month swaps, DOB typos, a DOB missing, a year alone
   or the 01/01 placeholder, placeholder names, a move, a misspelt street, missing address,
   phone or sex), every booking writing its address in one of several forms (one line in
   several orders and spellings, or the API's parts) and its ZIP in one of several forms (five
   digits, ZIP+4, nine digits, a lost leading zero). PARS as a user runs it: each booking
   stored through the API's person fields, then `pars identity train` and `pars identity
   dedupe --out` with the default settings as child processes (wall time, peak RSS), its CSV
   scored against the truth; Splink 5 deduplicating the same bookings (:func:`dedupe_splink`).
3. Online (`--online`, at those generated sizes): 300 arrestees (80% corrupted copies of stored
   persons, 20% new people) against the generated database, its file read once first (:func:`warm`:
   the page cache of a server in service): `find_candidates` in-process (a fresh read
   transaction each) and `POST /api/v1/persons/match` over HTTP to `pars serve`, p50 and p95.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

FEBRL4 = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "febrl4"
KEYS = "bench1:" + "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="  # 32 bytes, bench only


def febrl_api_person(r: dict[str, str], address_form: str) -> dict[str, Any]:
    """A FEBRL row as the API's person fields (what `POST /arrests` and `/persons/match`
    accept): the address as one line of text ("8 stanley street, miami, winston hills 4223")
    or in parts (`street`, `city`, `zip`; FEBRL's `address_2`, a building name, goes into the
    line only). No SSN; a name or date the API would refuse is left out, as a clerk would."""
    street = " ".join(p for p in (r["street_number"], r["address_1"]) if p)
    place = " ".join(p for p in (r["suburb"], r["postcode"]) if p)
    address: Any
    if address_form == "parts":
        parts = {"street": street, "city": r["suburb"], "zip": r["postcode"]}
        parts = {k: v for k, v in parts.items() if v}
        address = parts if parts.get("street") or parts.get("zip") else None
    else:
        address = ", ".join(p for p in (street, r["address_2"], place) if p) or None
    dob = r["date_of_birth"]
    out = {
        "last_name": r["surname"] or "UNKNOWN",
        "first_name": r["given_name"] or "UNKNOWN",
        "date_of_birth": f"{dob[:4]}-{dob[4:6]}-{dob[6:]}" if len(dob) == 8 else None,
        "address": address,
    }
    return {k: v for k, v in out.items() if v is not None}


def read_febrl_api(path: Path, address_form: str) -> list[tuple[str, Any]]:
    """(rec_id, PersonFields) of a FEBRL file, each row put in through the API's person
    fields: validated by `PersonIn` and turned into matching fields by the same conversion an
    arrest's person goes through (`record_fields`, `person_fields`)."""
    import csv

    from pydantic import ValidationError

    from pars.services.identity import person_fields, record_fields
    from pars.services.inputs import PersonIn

    out = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        for row in reader:
            r = dict(zip(header, (v.strip() for v in row), strict=True))
            person = febrl_api_person(r, address_form)
            try:
                valid = PersonIn.model_validate(person)
            except ValidationError as e:  # an impossible date (FEBRL corrupts some): left out
                bad = {str(err["loc"][0]) for err in e.errors()}
                valid = PersonIn.model_validate({k: v for k, v in person.items() if k not in bad})
            out.append(
                (r["rec_id"], person_fields(record_fields(valid.model_dump(exclude_none=True))))
            )
    return out


def _febrl_pars(address_form: str = "text") -> dict[str, Any]:
    from pars.config import Settings
    from pars.identity.em import train
    from pars.identity.febrl import quality
    from pars.identity.linkage import best_links

    a = read_febrl_api(FEBRL4 / "dataset4a.csv", address_form)
    b = read_febrl_api(FEBRL4 / "dataset4b.csv", address_form)
    left, right = [p for _, p in b], [p for _, p in a]
    start = time.perf_counter()
    model = train(left, right)
    trained = time.perf_counter()
    threshold = Settings.model_fields["identity_review_threshold"].default
    links = best_links(model, left, right, threshold)
    linked = time.perf_counter()
    q = quality(((b[x.i][0], a[x.j][0]) for x in links), len(b))
    return {"q": q, "train": trained - start, "link": linked - trained, "threshold": threshold}


def _febrl_splink() -> dict[str, Any]:
    import logging

    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.internals.realtime import compare_records

    from pars.identity.febrl import quality

    logging.disable(logging.WARNING)  # Splink narrates every EM iteration

    def load(name: str) -> Any:
        df = pd.read_csv(FEBRL4 / name, dtype=str, skipinitialspace=True).fillna("")
        df.columns = [c.strip() for c in df.columns]
        for c in df.columns:
            df[c] = df[c].str.strip().replace("", None)
        return df.drop(columns=["soc_sec_id"])  # without SSN, as PARS

    a, b = load("dataset4a.csv"), load("dataset4b.csv")
    # Splink's FEBRL 4 example, minus every use of soc_sec_id.
    rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=True,
    )
    start = time.perf_counter()
    db = DuckDBAPI()
    linker = Linker([db.register(a), db.register(b)], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in ("date_of_birth", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(rule), estimate_without_term_frequencies=True
        )
    trained = time.perf_counter()
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    linked = time.perf_counter()
    q = quality(zip(pred.rec_id_r, pred.rec_id_l, strict=True), len(b))
    model = linker.misc.save_model_to_json()
    both = pd.concat([a, b])
    tf_cols = ("given_name", "surname", "street_number", "postcode")
    freq = {c: both[c].value_counts(normalize=True).to_dict() for c in tf_cols}

    def realtime(row: dict[str, Any], source: str) -> dict[str, Any]:
        # compare_records expects the term frequencies on the records themselves.
        tf = {f"tf_{c}": freq[c].get(row[c]) for c in tf_cols}
        return {**row, **tf, "source_dataset": source}

    one = realtime(a.iloc[0].to_dict(), "a")
    two = realtime(b.iloc[0].to_dict(), "b")
    times = []
    for _ in range(5):  # Splink's real-time API: one pair, SQL cached after the first
        t = time.perf_counter()
        compare_records(one, two, model, db, sql_cache_key="bench").as_pandas_dataframe()
        times.append(time.perf_counter() - t)
    logging.disable(logging.NOTSET)
    times.sort()
    return {"q": q, "train": trained - start, "link": linked - trained, "pair": times[2]}


# -- synthetic persons ----------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_FIRST = _words(
    "JAMES MARY JOHN PATRICIA ROBERT JENNIFER MICHAEL LINDA WILLIAM ELIZABETH DAVID BARBARA "
    "RICHARD SUSAN JOSEPH JESSICA THOMAS SARAH CHARLES KAREN CHRISTOPHER NANCY DANIEL LISA "
    "MATTHEW BETTY ANTHONY MARGARET MARK SANDRA DONALD ASHLEY STEVEN KIMBERLY PAUL EMILY ANDREW "
    "DONNA JOSHUA MICHELLE KENNETH DOROTHY KEVIN CAROL BRIAN AMANDA GEORGE MELISSA EDWARD "
    "DEBORAH RONALD STEPHANIE TIMOTHY REBECCA JASON SHARON JEFFREY LAURA RYAN CYNTHIA JACOB "
    "KATHLEEN GARY AMY NICHOLAS SHIRLEY ERIC ANGELA JONATHAN HELEN STEPHEN ANNA LARRY BRENDA "
    "JUSTIN PAMELA SCOTT NICOLE BRANDON EMMA BENJAMIN SAMANTHA SAMUEL KATHERINE GREGORY CHRISTINE "
    "FRANK DEBRA ALEXANDER RACHEL RAYMOND CATHERINE PATRICK CAROLYN JACK JANET DENNIS RUTH JERRY "
    "MARIA TYLER HEATHER AARON DIANE JOSE VIRGINIA ADAM JULIE HENRY JOYCE NATHAN VICTORIA "
    "DOUGLAS OLIVIA ZACHARY KELLY PETER CHRISTINA KYLE LAUREN WALTER JOAN ETHAN EVELYN JEREMY "
    "JUDITH HAROLD MEGAN KEITH CHERYL CHRISTIAN ANDREA ROGER HANNAH NOAH MARTHA GERALD JACQUELINE "
    "CARL FRANCES TERRY GLORIA SEAN ANN AUSTIN TERESA ARTHUR KATHRYN LAWRENCE SARA JESSE JANICE "
    "DYLAN JEAN BRYAN ALICE JOE MADISON JORDAN DORIS BILLY ABIGAIL BRUCE JULIA ALBERT JUDY "
    "WILLIE GRACE GABRIEL DENISE LOGAN AMBER ALAN MARILYN JUAN BEVERLY WAYNE DANIELLE ROY "
    "THERESA RALPH SOPHIA RANDY MARIE EUGENE DIANA VINCENT BRITTANY RUSSELL NATALIE ELIJAH "
    "ISABELLA "
    "LOUIS CHARLOTTE BOBBY ROSE PHILIP ALEXIS JOHNNY KAYLA DESHAWN TANISHA LUIS CARMEN WEI MEI"
)
_SYLLABLES = _words(
    "SON MAN BER LEY TON WOOD FIELD HILL STEIN BERG RO MAR TIN GAR CIA LO PEZ KOW SKI NGU YEN "
    "OK A FOR PA TEL MUL LER ROS SI JOHN WIL LIAM BROWN DAV IS MIL JACK WASH ING HARR CLARK "
    "LEW ROB INS WALK YOUNG ALL KING WRIGHT SCOTT TOR RES HILL FLOR ES GREEN AD AMS NEL BAK"
)
_STREET_NAMES = (
    "MARKET CHESTNUT WALNUT SPRUCE PINE LOMBARD SOUTH BROAD ARCH RACE VINE SPRING GARDEN "
    "GIRARD OXFORD DIAMOND SUSQUEHANNA LEHIGH ALLEGHENY ERIE HUNTING PARK ROOSEVELT COTTMAN "
    "OAK ELM MAPLE CEDAR WASHINGTON LINCOLN JEFFERSON MADISON FRANKLIN"
)
_STREETS = [f"{w} {t}" for w in _words(_STREET_NAMES) for t in ("ST", "AVE", "RD")]
_SUFFIX_LONG = {"ST": "Street", "AVE": "Avenue", "RD": "Road"}
# Nicknames as clerks write them, written here independently of PARS's own table (some of
# these are not in it: what PARS was not tuned to).
_NICKS = {
    "WILLIAM": ("BILL", "WILL", "BILLY", "LIAM"), "ROBERT": ("BOB", "ROB", "BOBBY", "BERT"),
    "RICHARD": ("RICK", "DICK", "RICH"), "JAMES": ("JIM", "JIMMY", "JAMIE"),
    "JOHN": ("JACK", "JOHNNY"), "MICHAEL": ("MIKE", "MICKEY"), "JOSEPH": ("JOE", "JOEY"),
    "THOMAS": ("TOM", "TOMMY"), "CHARLES": ("CHUCK", "CHARLIE"), "DANIEL": ("DAN", "DANNY"),
    "MATTHEW": ("MATT",), "ANTHONY": ("TONY",), "CHRISTOPHER": ("CHRIS", "KIT"),
    "ELIZABETH": ("LIZ", "BETH", "BETSY", "LIBBY"), "MARGARET": ("PEGGY", "MAGGIE", "MEG"),
    "PATRICIA": ("PAT", "TRISH", "PATTY"), "JENNIFER": ("JEN", "JENNY"),
    "KATHERINE": ("KATE", "KATIE", "KATHY"), "SAMANTHA": ("SAM", "SAMMY"),
    "NICHOLAS": ("NICK",), "ALEXANDER": ("ALEX", "XANDER"), "EDWARD": ("ED", "TED", "EDDIE"),
    "DEBORAH": ("DEB", "DEBBIE"), "STEVEN": ("STEVE",), "KIMBERLY": ("KIM",),
    "JOSE": ("PEPE",), "FRANCES": ("FRAN", "FRANNIE"), "VICTORIA": ("VICKY", "TORI"),
    "TIMOTHY": ("TIM",), "DOROTHY": ("DOT", "DOTTIE"), "REBECCA": ("BECKY",),
}  # fmt: skip
#: What a clerk types for a name not known (some booked persons have one from the start).
_PLACEHOLDERS = ("UNKNOWN", "UNK", "FNU", "LNU", "DOE", "NFN")
#: How a booking writes the address, with weights: one line in several orders and spellings,
#: or the API's parts.
_ADDRESS_FORMS = (("line", 30), ("short", 15), ("zip_first", 10), ("long", 15), ("parts", 30))
#: How the ZIP code is written: five digits, ZIP+4, nine digits, or with its leading zero lost.
_ZIP_FORMS = (("5", 60), ("zip4", 20), ("nine", 10), ("four", 10))

#: Every corruption a repeat booking can carry (one or two of them), each with its weight.
CORRUPTIONS = (
    ("last_typo", 12), ("first_typo", 10), ("nickname", 10), ("swapped_names", 6),
    ("day_month_swap", 6), ("dob_digit", 8), ("dob_missing", 3), ("dob_year_only", 3),
    ("dob_placeholder", 2), ("moved", 10), ("no_address", 5), ("no_phone", 5), ("no_sex", 3),
    ("placeholder_first", 3), ("placeholder_last", 3), ("street_typo", 6),
)  # fmt: skip


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip: a substitution, an insertion, a deletion or two letters swapped."""
    if len(word) < 3:
        return word + rng.choice("AEIOU")
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("AEIOUYRSNTLM")
    if kind == 0:
        return word[:i] + letter + word[i + 1 :]
    if kind == 1:
        return word[:i] + letter + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _surnames(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3)))))
    return sorted(names)


def _zipf(rng: random.Random, n: int, s: float = 1.0) -> list[float]:
    weights = [1 / (k + 1) ** s for k in range(n)]
    rng.shuffle(weights)
    return weights


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w for w, _ in weighted], weights=[k for _, k in weighted])[0]


class Synth:
    """Synthetic persons with truth: Zipf-distributed names, dates of birth 1940-2008, 400 ZIP
    codes (300 Philadelphia 191xx, 100 New Jersey 08xxx), and repeat bookings of them with the
    corruptions of :data:`CORRUPTIONS`, each booking writing its address in one of
    :data:`_ADDRESS_FORMS` and its ZIP in one of :data:`_ZIP_FORMS`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lasts = _surnames(self.rng, 6000)
        self.first_w = list(itertools.accumulate(_zipf(self.rng, len(_FIRST))))
        self.last_w = list(itertools.accumulate(_zipf(self.rng, len(self.lasts), 0.9)))
        self.zips = [f"{19100 + z:05d}" for z in range(300)] + [
            f"{8000 + z:05d}" for z in range(100)
        ]

    def _address(self) -> dict[str, Any]:
        rng = self.rng
        zip_code = rng.choice(self.zips)
        return {
            "house": str(rng.randrange(1, 9999)),
            "street": rng.choice(_STREETS),
            "unit": f"APT {rng.randrange(1, 20)}{rng.choice('ABC')}"
            if rng.random() < 0.15
            else None,
            "city": "PHILADELPHIA" if zip_code.startswith("19") else "CAMDEN",
            "state": "PA" if zip_code.startswith("19") else "NJ",
            "zip": zip_code,
            "plus4": f"{rng.randrange(10**4):04d}",
        }

    def person(self) -> dict[str, Any]:
        """A new person as first booked (1% with a placeholder for one name)."""
        rng = self.rng
        first = rng.choices(_FIRST, cum_weights=self.first_w)[0]
        last = rng.choices(self.lasts, cum_weights=self.last_w)[0]
        if rng.random() < 0.01:
            if rng.random() < 0.5:
                first = rng.choice(_PLACEHOLDERS)
            else:
                last = rng.choice(_PLACEHOLDERS)
        dob = date(1940, 1, 1) + timedelta(days=rng.randrange(68 * 365))
        return self.restyle({
            "first": first.title(),
            "last": last.title(),
            "dob": dob.isoformat(),
            "sex": rng.choice("MF"),
            **self._address(),
            "phone": f"215{rng.randrange(10**7):07d}" if rng.random() < 0.6 else None,
        })  # fmt: skip

    def restyle(self, p: dict[str, Any]) -> dict[str, Any]:
        """The same fields written as another booking writes them: address form, ZIP form."""
        p["form"] = _pick(self.rng, _ADDRESS_FORMS)
        p["zip_form"] = _pick(self.rng, _ZIP_FORMS)
        return p

    def corrupt(self, p: dict[str, Any], kinds: list[str] | None = None) -> dict[str, Any]:
        """The same person as booked again: one or two of :data:`CORRUPTIONS` (recorded in
        ``q["corruptions"]``), the address and ZIP written in a form chosen afresh."""
        rng, q = self.rng, dict(p)
        if kinds is None:
            kinds = [_pick(rng, CORRUPTIONS) for _ in range(rng.choice((1, 1, 2)))]
        for kind in kinds:
            if kind == "last_typo" and q.get("last"):
                q["last"] = _typo(rng, q["last"].upper()).title()
            elif kind == "first_typo" and q.get("first"):
                q["first"] = _typo(rng, q["first"].upper()).title()
            elif kind == "nickname" and q.get("first"):
                nicks = _NICKS.get(q["first"].upper())
                q["first"] = rng.choice(nicks).title() if nicks else q["first"]
            elif kind == "swapped_names":
                q["first"], q["last"] = q["last"], q["first"]
            elif kind in ("day_month_swap", "dob_digit", "dob_placeholder") and q.get("dob"):
                d = date.fromisoformat(q["dob"])
                if kind == "day_month_swap" and d.day <= 12:
                    d = d.replace(month=d.day, day=d.month)
                elif kind == "dob_placeholder":
                    d = d.replace(month=1, day=1)
                else:  # one digit of the year, the month or the day
                    d = d.replace(day=min(d.day, 28))
                    part = rng.randrange(3)
                    if part == 0:
                        d = d.replace(year=d.year + rng.choice((-1, 1, -10, 10)))
                    elif part == 1:
                        d = d.replace(day=min(28, d.day % 28 + rng.choice((1, 10))))
                    else:
                        d = d.replace(month=(d.month % 12) + 1)
                q["dob"] = d.isoformat()
            elif kind == "dob_missing":
                q["dob"] = None
            elif kind == "dob_year_only" and q.get("dob"):
                q["birth_year"] = int(q["dob"][:4])
                q["dob"] = None
            elif kind == "moved":
                q.update(self._address())
            elif kind == "no_address":
                q["house"] = q["street"] = q["zip"] = None
            elif kind == "no_phone":
                q["phone"] = None
            elif kind == "no_sex":
                q["sex"] = rng.choice((None, "U"))
            elif kind == "placeholder_first":
                q["first"] = rng.choice(_PLACEHOLDERS).title()
            elif kind == "placeholder_last":
                q["last"] = rng.choice(_PLACEHOLDERS).title()
            elif kind == "street_typo" and q.get("street"):
                name, _, suffix = q["street"].rpartition(" ")
                q["street"] = f"{_typo(rng, name)} {suffix}"
        q["corruptions"] = kinds
        return self.restyle(q)


def generate(
    n: int, seed: int = 7, duplicates: float = 0.3
) -> tuple[list[dict[str, Any]], list[int]]:
    """``n`` bookings with truth: the raw fields of each and the person it is. A share
    ``duplicates`` are repeat bookings of an earlier person (its first booking corrupted by
    :meth:`Synth.corrupt`); the rest are new persons."""
    synth = Synth(seed)
    masters: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    truth: list[int] = []
    for _ in range(n):
        if masters and synth.rng.random() < duplicates:
            entity = synth.rng.randrange(len(masters))
            rows.append(synth.corrupt(masters[entity]))
        else:
            entity = len(masters)
            masters.append(synth.person())
            rows.append(masters[-1])
        truth.append(entity)
    return rows, truth


def _zip_as_written(p: dict[str, Any]) -> str | None:
    z, form = p.get("zip"), p.get("zip_form", "5")
    if not z:
        return None
    if form == "zip4":
        return f"{z}-{p['plus4']}"
    if form == "nine":
        return f"{z}{p['plus4']}"
    if form == "four" and z.startswith("0"):
        return z[1:]
    return z


def address_as_written(p: dict[str, Any]) -> str | dict[str, str] | None:
    """The address of a synthetic booking as its form writes it (text or the API's parts)."""
    if not p.get("street") and not p.get("zip"):
        return None
    form = p.get("form", "short")
    zip_code = _zip_as_written(p)
    street = f"{p['house']} {p['street']}" if p.get("street") else ""
    unit = p.get("unit")
    if form == "parts":
        parts = {
            "street": street, "unit": unit, "city": p.get("city"), "state": p.get("state"),
            "zip": zip_code,
        }  # fmt: skip
        return {k: v for k, v in parts.items() if v}
    if form == "long" and street:
        name, _, suffix = street.rpartition(" ")
        street = f"{name} {_SUFFIX_LONG.get(suffix, suffix)}".title()
    street_unit = f"{street} {unit}" if unit and street else street
    if form == "short":
        return " ".join(x for x in (street_unit, zip_code) if x)
    if form == "zip_first":
        return ", ".join(x for x in (street_unit, f"{zip_code or ''} {p['city']}".strip()) if x)
    place = f"{p['city']}, {p['state']} {zip_code or ''}".strip()
    return ", ".join(x for x in (street_unit, place) if x)


def api_person(synth_fields: dict[str, Any]) -> dict[str, Any]:
    """A synthetic booking in the API's person fields (what `POST /arrests` accepts)."""
    out = {
        "last_name": synth_fields.get("last"),
        "first_name": synth_fields.get("first"),
        "date_of_birth": synth_fields.get("dob"),
        "birth_year": synth_fields.get("birth_year"),
        "sex": synth_fields.get("sex"),
        "address": address_as_written(synth_fields),
        "phone": synth_fields.get("phone"),
    }
    return {k: v for k, v in out.items() if v is not None}


def through_api(synth_fields: dict[str, Any]) -> dict[str, Any]:
    """A synthetic person put in as an API client would: as the API's person fields, validated
    by `PersonIn`, turned into its matching record by `record_fields` (what an arrest does)."""
    from pars.services.identity import record_fields
    from pars.services.inputs import PersonIn

    valid = PersonIn.model_validate(api_person(synth_fields))
    return record_fields(valid.model_dump(exclude_none=True))


def store(url: str, rows: list[dict[str, Any]], now: datetime | None = None) -> int:
    """A migrated database holding one person per booking of ``rows``, each with its matching
    record (made by `through_api`, as an identified arrest makes it) and blocking keys; person
    ``i``'s id is :func:`person_id` (i). Returns the number of keys."""
    import sqlalchemy as sa

    from pars.identity.linkage import keys_of
    from pars.services.identity import person_fields
    from pars.store.engine import make_engine, migrate
    from pars.store.identity_tables import identity_keys, identity_records
    from pars.store.tables import persons

    engine = make_engine(url)
    migrate(engine)
    now = now or datetime(2026, 12, 4, tzinfo=UTC)
    keys = 0
    batch = 20_000
    with engine.begin() as conn:
        for start in range(0, len(rows), batch):
            rows_p, rows_r, rows_k = [], [], []
            for i in range(start, min(len(rows), start + batch)):
                pid = person_id(i)
                record = through_api(rows[i])
                rows_p.append({"id": pid, "created_at": now, "created_by": "bench"})
                rows_r.append({"id": i + 1, "person_id": pid, "fields": record, "created_at": now})
                record_keys = keys_of(person_fields(record))
                keys += len(record_keys)
                rows_k.extend({"key": k, "record_id": i + 1} for k in record_keys)
            conn.execute(sa.insert(persons), rows_p)
            conn.execute(sa.insert(identity_records), rows_r)
            conn.execute(sa.insert(identity_keys), rows_k)
            print(f"  stored {min(len(rows), start + batch)}/{len(rows)}", end="\r", flush=True)
    print()
    engine.dispose()
    return keys


def person_id(i: int) -> str:
    return f"{i:08d}-0000-4000-8000-000000000000"


def true_pairs(truth: list[int]) -> set[tuple[int, int]]:
    """Every pair (i < j) of bookings of the same person."""
    by_entity: dict[int, list[int]] = {}
    for i, e in enumerate(truth):
        by_entity.setdefault(e, []).append(i)
    return {pair for group in by_entity.values() for pair in itertools.combinations(group, 2)}


def pair_quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "precision": precision, "recall": recall, "f1": f1, "pairs": len(found),
        "true_pairs": len(truth), "false_pairs": len(found) - tp,
    }  # fmt: skip


def run_command(args: list[str], env: dict[str, str], digits: int = 1) -> dict[str, Any]:
    """Run `pars <args>` in a child process: wall seconds, that child's own peak RSS and CPU
    time (from `os.wait4`, rounded to `digits`), how many lines it printed and the last one."""
    import os
    import subprocess
    import sys

    pars = Path(sys.executable).with_name("pars")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen([str(pars), *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().strip(), err.read()
    if child.returncode != 0:
        sys.stderr.write(errors)
        raise SystemExit(f"pars {' '.join(args)} exited {child.returncode}")
    lines = printed.splitlines()
    return {
        "seconds": round(seconds, digits),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # KiB on Linux
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, digits),
        "lines": len(lines),
        "output": lines[-1] if lines else "",
    }


def command_env(url: str, data_dir: str) -> dict[str, str]:
    """The environment of a `pars` command on the database at ``url``."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PARS_")}
    env.update(
        PARS_DATABASE_URL=url, PARS_ENCRYPTION_KEYS=KEYS, PARS_DATA_DIR=data_dir,
        PARS_LOG_LEVEL="warning",
    )  # fmt: skip
    return env


def dedupe_command(url: str, data_dir: str, truth: list[int]) -> dict[str, Any]:
    """PARS on a stored generated set as a user runs it: `pars identity train` and then
    `pars identity dedupe --out` with the default settings, each a child process (wall time,
    peak RSS); the person pairs of its CSV against the truth."""
    import csv

    env = command_env(url, data_dir)
    train = run_command(["identity", "train", "--quiet"], env)
    out = Path(data_dir) / "likely.csv"
    dedupe = run_command(["identity", "dedupe", "--quiet", "--out", str(out)], env)
    with out.open(newline="") as f:
        found = {
            (min(i, j), max(i, j))
            for row in csv.DictReader(f)
            for i, j in [(int(row["person_id"][:8]), int(row["other_person_id"][:8]))]
        }
    return {**pair_quality(found, true_pairs(truth)), "train": train, "dedupe": dedupe}


def splink_frame(rows: list[dict[str, Any]]) -> Any:
    """The bookings as Splink's input, prepared as a Splink user would prepare them (more than
    PARS is given): placeholders as nulls, the ZIP as five digits, the street upper case with
    its suffix abbreviated, a year of birth alone as no date."""
    import pandas as pd

    from pars.identity.normalize import is_placeholder_name

    long_to_short = {v.upper(): k for k, v in _SUFFIX_LONG.items()}

    def name(v: str | None) -> str | None:
        return None if v is None or is_placeholder_name(v) else v.upper()

    out = []
    for i, r in enumerate(rows):
        street = r.get("street")
        if street:
            base, _, suffix = street.upper().rpartition(" ")
            street = f"{base} {long_to_short.get(suffix, suffix)}"
        out.append({
            "unique_id": i, "first_name": name(r.get("first")), "surname": name(r.get("last")),
            "dob": r.get("dob"), "sex": r.get("sex") if r.get("sex") in ("M", "F") else None,
            "house": r.get("house"), "street": street, "zip": r.get("zip"),
            "phone": r.get("phone"),
        })  # fmt: skip
    return pd.DataFrame(out)


def dedupe_splink(rows: list[dict[str, Any]], truth: list[int]) -> dict[str, Any]:
    """Splink 5 (DuckDB) deduplicating the same bookings: names with term frequencies, date of
    birth, house number, street, ZIP and phone; blocking on names, swapped names, date of birth,
    ZIP + surname and house + street; trained as in Splink's examples; pairs at p >= 0.5."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.disable(logging.WARNING)
    df = splink_frame(rows)
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            "l.first_name = r.surname and l.surname = r.first_name",
            block_on("dob"),
            block_on("zip", "surname"),
            block_on("house", "street"),
        ],
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, invalid_dates_as_null=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("house"),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
            cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone"),
        ],
    )
    t = time.perf_counter()
    db = DuckDBAPI()
    linker = Linker(db.register(df), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in (block_on("dob"), block_on("zip", "surname")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    trained = time.perf_counter()
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    done = time.perf_counter()
    logging.disable(logging.NOTSET)
    found = {
        (min(a, b), max(a, b))
        for a, b in zip(pred.unique_id_l.astype(int), pred.unique_id_r.astype(int), strict=True)
    }
    quality = pair_quality(found, true_pairs(truth))
    return {**quality, "train_s": trained - t, "dedupe_s": done - trained}


def warm(url: str) -> float:
    """Read the SQLite database file once, so that the online figures are those of a server
    whose database is in the page cache (as it is after a while in service) rather than of a
    file the kernel evicted while the batch runs and Splink filled the memory. Returns the
    seconds it took."""
    t = time.perf_counter()
    path = Path(url.removeprefix("sqlite:///"))
    for name in (path, path.with_name(path.name + "-wal")):
        if name.exists():
            with name.open("rb") as f:
                while f.read(1 << 20):
                    pass
    return round(time.perf_counter() - t, 1)


def online(url: str, people: list[dict[str, Any]], queries: int = 300) -> dict[str, float]:
    from pars.config import Settings
    from pars.crypto import KeyRing
    from pars.services.app import Pars
    from pars.services.identity import current_model, find_candidates, person_fields

    pars = Pars(Settings(database_url=url), keys=KeyRing(KEYS))
    asks = _asks(people, queries)
    with pars.reader() as uow:
        model = current_model(pars, uow)
        for q in asks[:20]:  # warm-up: caches, the database's pages
            find_candidates(uow, model, person_fields(through_api(q)), 10)
    times, cpu, counts = [], [], []
    for q in asks:
        fields = person_fields(through_api(q))
        t, c = time.perf_counter(), time.thread_time()
        with pars.reader() as uow:
            found = find_candidates(uow, model, fields, 10)
        times.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)  # this thread's CPU: what a shared machine hides
        counts.append(len(found))
    pars.engine.dispose()
    times.sort()
    cpu.sort()
    return {
        "p50": times[len(times) // 2] * 1000,
        "p95": times[int(len(times) * 0.95)] * 1000,
        "cpu_p50": cpu[len(cpu) // 2] * 1000,
        "cpu_p95": cpu[int(len(cpu) * 0.95)] * 1000,
        "mean_candidates": statistics.mean(counts),
    }


def _asks(people: list[dict[str, Any]], queries: int) -> list[dict[str, Any]]:
    """The arrestees of the online runs: 80% corrupted copies of stored persons, 20% new."""
    synth = Synth(99)
    return [
        synth.corrupt(people[synth.rng.randrange(len(people))])
        if synth.rng.random() < 0.8
        else synth.person()
        for _ in range(queries)
    ]


def online_http(
    url: str, data_dir: str, people: list[dict[str, Any]], queries: int = 300
) -> dict[str, float]:
    """`POST /api/v1/persons/match` over HTTP (`pars serve`, one process, on the database at
    ``url``), one officer's requests one after another: p50 and p95 of the round trip."""
    import http.client

    from bench.intake import Server, _free_port, prepare

    env = command_env(url, data_dir)
    token = prepare(env)
    server = Server(env, 1, _free_port(), Path(data_dir) / "serve.log")
    server.start()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    times = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for n, q in enumerate(_asks(people, queries + 20)):
            body = json.dumps({"person": api_person(q), "limit": 10})
            t = time.perf_counter()
            conn.request("POST", "/api/v1/persons/match", body, headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"match answered {response.status}")
            if n >= 20:  # the first 20 warm the caches
                times.append(time.perf_counter() - t)
        conn.close()
    finally:
        server.stop()
    times.sort()
    return {"p50": times[len(times) // 2] * 1000, "p95": times[int(len(times) * 0.95)] * 1000}


def generated_run(
    n: int, tmp: str, seed: int, splink: bool, with_online: bool, with_dedupe: bool = True
) -> dict[str, Any]:
    """One generated set of ``n`` bookings: PARS through its commands, Splink in-process, and
    (``with_online``) the online matcher on the same database."""
    import os

    rows, truth = generate(n, seed)
    data_dir = Path(tmp) / f"gen-{n}"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'pars.db'}"
    t = time.perf_counter()
    keys = store(url, rows)
    out: dict[str, Any] = {
        "records": n, "persons": len(set(truth)), "store_s": round(time.perf_counter() - t, 1),
        "keys": keys, "load_average_before": os.getloadavg()[0],
    }  # fmt: skip
    if with_dedupe:
        out["pars"] = dedupe_command(url, str(data_dir), truth)
    if splink:
        out["splink"] = dedupe_splink(rows, truth)
    if with_online:
        out["warm_s"] = warm(url)
        out["online"] = online(url, rows)
        out["online_http"] = online_http(url, str(data_dir), rows)
    out["load_average_after"] = os.getloadavg()[0]
    return out


def _quality_line(name: str, q: dict[str, Any], extra: str = "") -> str:
    return (
        f"  {name:<10}F1 {q['f1']:.4f}  P {q['precision']:.4f}  R {q['recall']:.4f}  "
        f"({q['pairs']:,} pairs, {q['false_pairs']:,} false, of {q['true_pairs']:,} true){extra}"
    )


def main() -> None:
    import os
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--generated", default="5000,20000,100000,1000000", help="sizes of the generated sets"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--online", default="", help="run the online matcher at these sizes")
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument(
        "--no-dedupe", action="store_true", help="no train and dedupe (online figures only)"
    )
    parser.add_argument("--splink-max", type=int, default=10**7, help="no Splink above this size")
    parser.add_argument("--dir", help="where to build the databases (default: a temp dir)")
    parser.add_argument(
        "--address",
        choices=("text", "parts", "both"),
        default="both",
        help="how FEBRL addresses go in through the API's person fields: one line of text, "
        "the structured parts, or both runs (default)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"identity benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}")
    result: dict[str, Any] = {"benchmark": "identity", "commit": commit, "cpus": os.cpu_count()}
    if not args.no_febrl:
        print("\nFEBRL 4 (5000 x 5000, without SSN)")
        print(
            f"{'system':<22}{'precision':>10}{'recall':>10}{'F1':>10}{'train s':>10}{'link s':>10}"
        )
        forms = ("text", "parts") if args.address == "both" else (args.address,)
        runs = [(f"PARS (address {form})", _febrl_pars(form)) for form in forms]
        if not args.no_splink:
            runs.append(("Splink 5 (DuckDB)", _febrl_splink()))
        for name, r in runs:
            q = r["q"]
            print(
                f"{name:<22}{q.precision:>10.4f}{q.recall:>10.4f}{q.f1:>10.4f}"
                f"{r['train']:>10.2f}{r['link']:>10.2f}"
            )
        result["febrl4"] = {
            name: {"precision": r["q"].precision, "recall": r["q"].recall, "f1": r["q"].f1}
            for name, r in runs
        }
    online_sizes = {int(x) for x in args.online.split(",") if x}
    result["generated"] = {}
    if args.dir:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in (int(x) for x in args.generated.split(",") if x):
            print(f"\ngenerated set of {n:,} bookings (seed {args.seed}), dedupe", flush=True)
            splink = not args.no_splink and n <= args.splink_max
            r = generated_run(n, tmp, args.seed, splink, n in online_sizes, not args.no_dedupe)
            if "pars" in r:
                p = r["pars"]
                print(
                    _quality_line(
                        "PARS",
                        p,
                        f"; train {p['train']['seconds']} s, dedupe {p['dedupe']['seconds']} s "
                        f"wall, {p['dedupe']['peak_rss_mb']} MB peak",
                    )
                )
            if "splink" in r:
                sp = r["splink"]
                print(
                    _quality_line(
                        "Splink 5", sp, f"; train {sp['train_s']:.1f} s, predict "
                        f"{sp['dedupe_s']:.1f} s",
                    )
                )  # fmt: skip
            if "online" in r:
                o = r["online"]
                print(f"  database file read once first (page cache): {r['warm_s']:.1f} s")
                print(
                    f"  online (in-process, SQLite): p50 {o['p50']:.2f} ms, "
                    f"p95 {o['p95']:.2f} ms (CPU p50 {o['cpu_p50']:.2f} ms, p95 "
                    f"{o['cpu_p95']:.2f} ms), {o['mean_candidates']:.1f} candidates per arrestee"
                )
                h = r["online_http"]
                print(
                    f"  online (HTTP, pars serve, SQLite): p50 {h['p50']:.2f} ms, "
                    f"p95 {h['p95']:.2f} ms"
                )
            print(f"  load average {r['load_average_before']:.1f} -> {r['load_average_after']:.1f}")
            result["generated"][str(n)] = r
    print(json.dumps(result) if args.json else json.dumps({"done": True}))


if __name__ == "__main__":
    main()
