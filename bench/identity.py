"""Identity resolution: FEBRL 4 quality and speed against Splink 5, online latency, batch dedupe.

    uv sync --frozen --group bench
    uv run python -m bench.identity                    # everything: 10^5 and 10^6 persons
    uv run python -m bench.identity --sizes 100000 --no-dedupe

1. FEBRL 4 (tests/fixtures/febrl4) without the SSN column: precision, recall and F1, and the
   time to train and to link, for PARS (each 4b record linked to its best 4a candidate at the
   default review threshold) and for Splink 5 on DuckDB, set up as in Splink's own FEBRL 4
   example (its "detailed" model) with the SSN comparison and blocking rules left out; Splink's
   pairs at match probability >= 0.5 count as links. PARS reads each FEBRL row as an API client
   would send it (`PersonIn`, then the matching fields an arrest's person becomes), the address
   as one line of text or in parts (`--address text|parts|both`). Also Splink scoring one pair
   (`compare_two_records`).
2. Online: a SQLite database of N synthetic persons (one matching record each, bulk-inserted
   with their blocking keys); for 300 arrestees (80% corrupted copies of stored persons, 20% new
   people), the time to read the candidates from the key index and score them
   (`pars.services.identity.find_candidates`, in a fresh read transaction each), p50 and p95.
3. Batch: `pars identity dedupe` on the largest database, in a child process: wall time and
   peak resident memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import random
import resource
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


def _surnames(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3)))))
    return sorted(names)


def _zipf(rng: random.Random, n: int, s: float = 1.0) -> list[float]:
    weights = [1 / (k + 1) ** s for k in range(n)]
    rng.shuffle(weights)
    return weights


class Synth:
    """Synthetic persons: Zipf-distributed names, uniform dates of birth 1940-2008, 400 ZIPs."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lasts = _surnames(self.rng, 6000)
        self.first_w = list(itertools.accumulate(_zipf(self.rng, len(_FIRST))))
        self.last_w = list(itertools.accumulate(_zipf(self.rng, len(self.lasts), 0.9)))
        self.zips = [f"{19000 + z:05d}" for z in range(400)]

    def person(self) -> dict[str, Any]:
        rng = self.rng
        first = rng.choices(_FIRST, cum_weights=self.first_w)[0]
        last = rng.choices(self.lasts, cum_weights=self.last_w)[0]
        dob = date(1940, 1, 1) + timedelta(days=rng.randrange(68 * 365))
        address = f"{rng.randrange(1, 9999)} {rng.choice(_STREETS)} {rng.choice(self.zips)}"
        return {
            "first": first.title(),
            "last": last.title(),
            "dob": dob.isoformat(),
            "sex": rng.choice("MF"),
            "address": address,
            "phone": f"215{rng.randrange(10**7):07d}" if rng.random() < 0.6 else None,
        }

    def corrupt(self, p: dict[str, Any]) -> dict[str, Any]:
        """The same person as booked again: one or two of the errors PARS is built for."""
        rng, q = self.rng, dict(p)
        for _ in range(rng.choice((1, 1, 2))):
            kind = rng.randrange(5)
            if kind == 0:  # a typo in the surname
                i = rng.randrange(len(q["last"]))
                q["last"] = q["last"][:i] + rng.choice("aeiouyrs") + q["last"][i + 1 :]
            elif kind == 1:  # one digit of the DOB
                d = date.fromisoformat(q["dob"])
                q["dob"] = d.replace(day=min(28, d.day % 28 + 1)).isoformat()
            elif kind == 2:  # swapped names
                q["first"], q["last"] = q["last"], q["first"]
            elif kind == 3:  # moved
                q["address"] = self.person()["address"]
            else:  # no phone, no address
                q.pop("phone", None)
                q.pop("address", None)
        return {k: v for k, v in q.items() if v is not None}


def api_person(synth_fields: dict[str, Any]) -> dict[str, Any]:
    """A synthetic person in the API's person fields (what `POST /arrests` accepts)."""
    out = {
        "last_name": synth_fields.get("last"),
        "first_name": synth_fields.get("first"),
        "date_of_birth": synth_fields.get("dob"),
        "sex": synth_fields.get("sex"),
        "address": synth_fields.get("address"),
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


def build(url: str, n: int, seed: int = 7) -> list[dict[str, Any]]:
    """A migrated database with `n` persons (2% of them duplicates of another, as the batch
    should find), each with one matching record and its keys. Returns the persons' fields."""
    import sqlalchemy as sa

    from pars.identity.linkage import keys_of
    from pars.services.identity import person_fields
    from pars.store.engine import make_engine, migrate
    from pars.store.identity_tables import identity_keys, identity_records
    from pars.store.tables import persons

    engine = make_engine(url)
    migrate(engine)
    synth = Synth(seed)
    now = datetime(2026, 11, 22, tzinfo=UTC)
    people: list[dict[str, Any]] = []
    batch = 20_000
    with engine.begin() as conn:
        for start in range(0, n, batch):
            rows_p, rows_r, rows_k = [], [], []
            for i in range(start, min(n, start + batch)):
                fields = (
                    synth.corrupt(people[synth.rng.randrange(len(people))])
                    if people and synth.rng.random() < 0.02
                    else synth.person()
                )
                fields = {k: v for k, v in fields.items() if v is not None}
                people.append(fields)
                pid = f"{i:08d}-0000-4000-8000-000000000000"
                rows_p.append({"id": pid, "created_at": now, "created_by": "bench"})
                record = through_api(fields)
                rows_r.append({"id": i + 1, "person_id": pid, "fields": record, "created_at": now})
                rows_k.extend(
                    {"key": k, "record_id": i + 1} for k in keys_of(person_fields(record))
                )
            conn.execute(sa.insert(persons), rows_p)
            conn.execute(sa.insert(identity_records), rows_r)
            conn.execute(sa.insert(identity_keys), rows_k)
            print(f"  built {min(n, start + batch)}/{n}", flush=True, end="\r")
    print()
    engine.dispose()
    return people


def online(url: str, people: list[dict[str, Any]], queries: int = 300) -> dict[str, float]:
    from pars.config import Settings
    from pars.crypto import KeyRing
    from pars.services.app import Pars
    from pars.services.identity import current_model, find_candidates, person_fields

    pars = Pars(Settings(database_url=url), keys=KeyRing(KEYS))
    synth = Synth(99)
    asks = [
        synth.corrupt(people[synth.rng.randrange(len(people))])
        if synth.rng.random() < 0.8
        else synth.person()
        for _ in range(queries)
    ]
    with pars.reader() as uow:
        model = current_model(pars, uow)
        for q in asks[:20]:  # warm-up: caches, the database's pages
            find_candidates(uow, model, person_fields(through_api(q)), 10)
    times, counts = [], []
    for q in asks:
        fields = person_fields(through_api(q))
        t = time.perf_counter()
        with pars.reader() as uow:
            found = find_candidates(uow, model, fields, 10)
        times.append(time.perf_counter() - t)
        counts.append(len(found))
    pars.engine.dispose()
    times.sort()
    return {
        "p50": times[len(times) // 2] * 1000,
        "p95": times[int(len(times) * 0.95)] * 1000,
        "mean_candidates": statistics.mean(counts),
    }


def _dedupe_child(url: str, out: Any) -> None:
    from pars.config import Settings
    from pars.crypto import KeyRing
    from pars.services.app import Pars
    from pars.services.identity_batch import dedupe

    pars = Pars(Settings(database_url=url), keys=KeyRing(KEYS))
    start = time.perf_counter()
    result = dedupe(pars, "bench")
    out.put(
        {
            "seconds": time.perf_counter() - start,
            "pairs": result.pairs_scored,
            "blocks": result.blocks,
            "candidates": result.candidates,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def dedupe_in_child(url: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_dedupe_child, args=(url, out))
    child.start()
    result: dict[str, Any] = out.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--no-dedupe", action="store_true")
    parser.add_argument("--no-splink", action="store_true")
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
    print(f"identity benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print("\nFEBRL 4 (5000 x 5000, without SSN)")
    print(f"{'system':<22}{'precision':>10}{'recall':>10}{'F1':>10}{'train s':>10}{'link s':>10}")
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
    if not args.no_splink:
        print(
            f"Splink compare_records (one pair, median of 5): {runs[-1][1]['pair'] * 1000:.1f} ms"
        )
    print(f"(PARS links at match probability >= {runs[0][1]['threshold']}; Splink at >= 0.5)")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        url = ""
        for n in sizes:
            url = f"sqlite:///{Path(tmp) / f'persons-{n}.db'}"
            t = time.perf_counter()
            people = build(url, n)
            built = time.perf_counter() - t
            r = online(url, people)
            print(
                f"online, {n:>9,} persons (SQLite; built in {built:.0f} s): p50 "
                f"{r['p50']:.2f} ms, p95 {r['p95']:.2f} ms, {r['mean_candidates']:.1f} "
                "candidates per arrestee"
            )
            del people
        if not args.no_dedupe and url:
            d = dedupe_in_child(url)
            print(
                f"batch dedupe, {sizes[-1]:,} persons: {d['seconds']:.0f} s, peak RSS "
                f"{d['peak_mb']:.0f} MB, {d['blocks']:,} blocks, {d['pairs']:,} pairs scored, "
                f"{d['candidates']:,} likely duplicate pairs"
            )
    figures: dict[str, Any] = {
        name: {"precision": r["q"].precision, "recall": r["q"].recall, "f1": r["q"].f1}
        for name, r in runs
    }
    print(json.dumps({"febrl4": figures} if args.json else {"done": True}))


if __name__ == "__main__":
    main()
