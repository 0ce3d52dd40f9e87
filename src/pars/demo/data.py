"""Synthetic content for `pars demo`: what each report and each decision says
(`pars.demo.run` decides what happens when).

Everything is drawn from the caller's `random.Random`, so a seed gives the same data. Names,
streets and districts are Philadelphia-like; every person is invented. Phone numbers are in the
555-0100..0199 block kept for fiction; social security numbers are random but well-formed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pars.domain.arraignment import BailType
from pars.domain.catalogue import ChargeCatalogue
from pars.domain.charging import Charge, ChargeAction
from pars.domain.grades import Grade
from pars.services.inputs import ArraignmentIn, BailIn, ChargeDecisionIn

__all__ = ["DAY_FACTOR", "DISTRICTS", "INCIDENTS", "District", "Incident", "Person", "Synth"]

# fmt: off
# Name group -> (men's first names, women's first names, surnames); "_" stands for a space.
_NAMES = {
    "black": ("Jamal Tyrell DeShawn Marcus Darnell Andre Terrell Malik Rasheed Kareem Dwayne "
              "Jerome Khalil Tariq Isaiah Jaylen Quadir Nasir Corey", "Aaliyah Keisha Tamika "
              "Shanice Imani Latoya Jasmine Ebony Nia Monique Tiana", "Williams Johnson Jackson "
              "Brown Jones Davis Harris Robinson Jenkins Washington Coleman Gaines Bey Holmes "
              "Glover Pressley Staten Freeman Ellerbe Rountree Wiggins Hairston"),
    "white": ("Michael Sean Kevin Ryan Joseph Brian Patrick Thomas Matthew Daniel Kyle Dominic "
              "Vincent Francis", "Brittany Kelly Nicole Megan Jessica Amanda Heather Colleen Erin",
              "Murphy Kelly McLaughlin Sullivan Brennan Gallagher Rossi DiNardo Russo Ferrara "
              "Kowalski Nowak Wisniewski Smith Miller Walsh O'Brien Doyle Marino Caruso Burke"),
    "hispanic": ("Jose Luis Carlos Angel Juan Miguel Jesus Edwin Hector Jonathan Christian Jorge "
                 "Ramon Victor Wilfredo Josue", "Maria Yesenia Carmen Marisol Gabriela Ana Nayeli "
                 "Yolanda Xiomara Ivelisse", "Rivera Rodriguez Cruz Santiago Ortiz Torres Colon "
                 "Perez Ramos Vazquez Gonzalez Martinez Hernandez Lopez Diaz Morales Figueroa "
                 "Rosario Pagan Melendez De_Jesus"),
    "asian": ("Minh Tuan Wei Jin Hung Sokha Vinh Sunil Raj Hao Bao", "Linh Mai Thu Mei Hoa Sophea "
              "Priya Jenny", "Nguyen Tran Le Pham Chen Lin Wang Zhang Kim Lee Park Patel Chhim Vo"),
}
# Name group: weight, NIBRS race codes with weights, ethnicity, birthplaces abroad with
# citizenship (Puerto Rico is abroad for the place only).
_Group = tuple[float, tuple[tuple[str, float], ...], str, tuple[tuple[str, str], ...]]
_GROUPS: dict[str, _Group] = {
    "black": (0.56, (("B", 1),), "N", (("Kingston, Jamaica", "JM"),
              ("Port-au-Prince, Haiti", "HT"), ("Lagos, Nigeria", "NG"))),
    "white": (0.20, (("W", 0.97), ("I", 0.03)), "N", (("Kyiv, Ukraine", "UA"),
              ("Tirana, Albania", "AL"))),
    "hispanic": (0.19, (("W", 0.72), ("B", 0.12), ("U", 0.16)), "H", (("San Juan, PR", "US"),
                 ("Santo Domingo, Dominican Republic", "DO"), ("Tegucigalpa, Honduras", "HN"),
                 ("Puebla, Mexico", "MX"), ("San Salvador, El Salvador", "SV"))),
    "asian": (0.05, (("A", 0.9), ("P", 0.1)), "N", (("Ho Chi Minh City, Vietnam", "VN"),
              ("Fuzhou, China", "CN"), ("Phnom Penh, Cambodia", "KH"))),
}
_BORN_US = ("Camden, NJ", "Chester, PA", "Baltimore, MD", "New York, NY", "Reading, PA")
_OUT_OF_CITY = ("Camden, NJ 08102", "Chester, PA 19013", "Upper Darby, PA 19082")
_NICKNAMES = ("Boo", "Man", "Lil", "Pooh", "Peanut", "Junior", "Tank", "Flaco", "Dre", "Smoke")
_EYES = (("BRO", 70), ("BLK", 12), ("HAZ", 7), ("BLU", 7), ("GRN", 4))
_HAIR = (("BLK", 60), ("BRO", 25), ("BLN", 5), ("RED", 2), ("GRY", 4), ("BLD", 4))
_AGES = ((18, 24, 24), (25, 34, 33), (35, 44, 22), (45, 54, 11), (55, 70, 7.5))  # from, to, weight

# Police districts: number, weight (arrests), division, zip codes | streets.
_DISTRICT_TABLE = """
1  2   South     19145 19148       | Passyunk Ave, S Broad St, Oregon Ave, Snyder Ave, S 20th St
2  3   Northeast 19111 19149 19152 | Castor Ave, Bustleton Ave, Oxford Ave, Rhawn St, Cottman Ave
3  3   South     19147 19148       | S 9th St, Washington Ave, Tasker St, S 5th St, Morris St
5  1.5 Northwest 19127 19128       | Ridge Ave, Main St, Henry Ave, Green Ln
6  4   Central   19106 19107 19123 | Market St, Chestnut St, Arch St, N 13th St, Spring Garden St
7  1.5 Northeast 19114 19115 19116 | Bustleton Ave, Red Lion Rd, Knights Rd, Academy Rd
8  1.5 Northeast 19136 19152 19114 | Frankford Ave, Grant Ave, Roosevelt Blvd, Academy Rd
9  3   Central   19103 19130       | Walnut St, Spruce St, S 18th St, Fairmount Ave
12 5   Southwest 19142 19143 19153 | Woodland Ave, S 61st St, Elmwood Ave, Chester Ave
14 5   Northwest 19144 19138 19119 | Germantown Ave, E Chelten Ave, Wayne Ave, Stenton Ave
15 6   Northeast 19124 19135 19149 | Frankford Ave, Torresdale Ave, Harbison Ave, Bridge St
16 4   Southwest 19104 19139       | Lancaster Ave, Haverford Ave, N 52nd St, W Girard Ave
17 4   South     19145 19146       | Point Breeze Ave, S 22nd St, Wharton St, Federal St
18 5   Southwest 19143 19139       | Baltimore Ave, S 60th St, Cedar Ave, Cobbs Creek Pkwy
19 6   Southwest 19131 19151       | N 63rd St, Lansdowne Ave, Haverford Ave, W Girard Ave
22 7   Central   19121 19122 19132 | W Lehigh Ave, Cecil B Moore Ave, N Broad St, W Susquehanna Ave
24 10  East      19134 19124       | Kensington Ave, E Allegheny Ave, Frankford Ave, E Somerset St
25 9   East      19133 19140       | N 5th St, W Allegheny Ave, Germantown Ave, W Indiana Ave
26 5   East      19125 19122       | Frankford Ave, E Girard Ave, Kensington Ave, E York St
35 6   Northwest 19120 19141 19126 | N Broad St, W Olney Ave, N 5th St, W Champlost St
39 7   Northwest 19140 19132 19129 | W Hunting Park Ave, W Erie Ave, Germantown Ave, N 22nd St
"""

# Kinds of arrest: name, weight; charges by catalogue key ("35-780-113-" shortened to "+"): the
# primary by weight, extras each with its probability, what a prosecutor may add; victims
# (from-to); witnesses' probability; mostly at night; what the officer saw.
_INCIDENT_TABLE: tuple[tuple[str, float, str, str, str, str, float, bool, str], ...] = (
    ("drug possession", 14, "+A16:1", "+A32:.5 +A31:.1", "18-5104", "0-0", .2, False,
     "saw the defendant holding {n} packets of suspected {drug}"),
    ("possession with intent to deliver", 10, "+A30:1", "+A16:.8 +A32:.3 18-7512-A:.15 18-903:.2",
     "18-903 18-7512-A", "0-0", .2, False, "saw {n} hand-to-hand sales; {drug}, ${value} seized"),
    ("simple assault", 12, "18-2701-A1:.85 18-2701-A3:.15", "18-2705:.4 18-2709-A1:.6 18-2718-A1:.1"
     " 18-2706-A1:.15", "18-2705 18-2709-A1", "1-2", .4, False, "saw the complainant hurt"),
    ("aggravated assault", 6, "18-2702-A1:.5 18-2702-A4:.3 18-2702-A3:.2", "18-2701-A1:.9 "
     "18-2705:.6 18-907-A:.4", "18-907-A 18-2705", "1-2", .5, False, "was led to the defendant"),
    ("retail theft", 9, "18-3929-A1:1", "18-3925-A:.2 18-3921-A:.2 18-3503-B1I:.05", "18-3925-A",
     "1-1", .6, False, "was called by store security: ${value} of goods taken"),
    ("theft", 4, "18-3921-A:.6 18-3934-A:.4", "18-3925-A:.5 18-3304-A5:.4", "18-3925-A", "1-1", .2,
     False, "stopped the defendant with the complainant's property (${value})"),
    ("DUI", 9, "75-3802-A1:.35 75-3802-C:.25 75-3802-B:.15 75-3802-D1:.15 75-3802-D2:.1",
     "75-3714-A:.3 75-1543-A:.15 75-3809-A:.1 75-3736-A:.1 75-3733-A:.03", "75-3714-A", "0-0", .2,
     True, "stopped a driver who failed field sobriety tests"),
    ("firearms", 9, "18-6106-A1:.6 18-6105-A1:.4", "18-6108:.85 18-6110.2-A:.05 +A16:.15",
     "18-6108", "0-0", .2, True, "recovered a loaded handgun; no license to carry"),
    ("burglary", 4, "18-3502-A1:.4 18-3502-A4:.35 18-3502-A2:.25", "18-3503-A1II:.7 18-3921-A:.6 "
     "18-3925-A:.5 18-3304-A5:.4", "18-3503-A1II", "1-1", .2, True, "found the defendant inside"),
    ("robbery", 4, "18-3701-A1II:.6 18-3701-A1IV:.25 18-3702-A:.15", "18-3921-A:.7 18-3925-A:.6 "
     "18-2701-A1:.4 18-2706-A1:.3 18-907-A:.3 18-903:.2", "18-903 18-907-A", "1-2", .4, False,
     "stopped the defendant, who matched the flash, {n} blocks away"),
    ("receiving stolen property", 4, "18-3925-A:.7 18-3928-A:.3", "18-3928-A:.3 18-3921-A:.3 "
     "75-3733-A:.1", "18-5104", "0-0", .2, False, "stopped the defendant driving a stolen car"),
    ("disorderly conduct", 5, "18-5503-A1:.6 18-5503-A4:.2 18-5505:.1 18-5902-A2:.1", "18-5505:.3 "
     "18-5104:.2", "18-5104", "0-0", .2, True, "told the defendant to disperse, to no avail"),
    ("criminal trespass", 3, "18-3503-A1II:.6 18-3503-B1I:.4", "18-3304-A5:.3 18-3921-A:.15",
     "18-5104", "1-1", .2, False, "found the defendant inside a vacant property"),
    ("terroristic threats", 3, "18-2706-A1:1", "18-2709-A4:.4 18-2709.1-A1:.1 18-2701-A3:.2",
     "18-5104", "1-1", .3, False, "heard the complainant: the defendant threatened to kill them"),
    ("contempt of protection order", 2, "23-6114-A:1", "18-2709-A1:.4 18-2701-A1:.3", "18-5104",
     "1-1", .2, False, "found the defendant at the complainant's home, against a PFA order"),
    ("fraud", 1.5, "18-4106-A1II:.5 18-4120-A:.3 18-4101-A3:.2", "18-3922-A1:.4 18-3921-A:.2",
     "18-5104", "1-1", .2, False, "saw the defendant pay with a card issued to someone else"),
    ("attempted murder", .4, "18-2502-A:1", "18-6106-A1:.6 18-907-A:.6 18-2702-A1:.9 18-6108:.4",
     "18-903", "1-1", .7, False, "found the complainant shot; witnesses named the defendant"),
)
_JUVENILE_INCIDENTS = ("firearms", "robbery", "aggravated assault")  # charges tried as adults
# Grades an officer records instead of the catalogue's (theft by value, mutual fights).
_GRADES = {"18-3929-A1": "M1:30 M2:20 S:35 F3:15", "18-2701-A1": "M2:85 M3:15",
           "18-3921-A": "M1:50 M2:25 F3:15 M3:10", "18-3934-A": "M1:40 M2:40 M3:20",
           "18-3925-A": "M1:50 M2:20 F3:20 F2:10", "18-3304-A5": "M3:50 M2:30 F3:20"}
_COUNTED = {"18-3921-A", "18-3925-A", "35-780-113-A16", "18-4106-A1II", "18-4101-A3"}
_ATTEMPTS = {"18-2502-A": (1.0, "F1"), "18-3502-A4": (0.1, "F2"), "18-3701-A1II": (0.1, "F2")}
_DRUGS = ("crack cocaine", "heroin", "fentanyl", "methamphetamine", "marijuana", "xylazine")
_STORES = ("Pharmacy", "Supermarket", "Discount store", "Clothing store", "Convenience store")
_ORDINAL = {1: "st", 2: "nd", 3: "rd", 22: "nd"}  # as in "22nd District"

DAY_FACTOR = (0.97, 1.02, 1.04, 1.04, 1.08, 1.0, 0.85)  # arrests, Monday .. Sunday
# Arrests by hour (court time): fewest about 6 a.m., most late in the evening (DUI, guns: at night).
_HOURS = [2 + 2.3 * (1 - math.cos(2 * math.pi * (h - 6) / 24)) for h in range(24)]
_NIGHT_HOURS = [0.8 + 4.2 * (1 - math.cos(2 * math.pi * (h - 12) / 24)) for h in range(24)]

_DECLINE = ("Insufficient evidence", "Complainant declined to cooperate", "Civil matter",
            "No probable cause for the stop", "Charged under another OTN")
_DIVERT = ("Accelerated Misdemeanor Program", "Drug Treatment Court referral",
           "Mental health diversion", "Small Amount of Marijuana program")
_MAGISTRATES = ("ACM A. Whitaker", "ACM M. Delgado", "ACM L. Okafor", "ACM P. Brandt")
_ADAS = ("ADA Haldane", "ADA Moreno", "ADA Quist", "ADA Abernathy", "ADA Iwu", "ADA Sorensen")
_COUNSEL = (("Defender Association of Philadelphia", 70), ("Court-appointed counsel", 15),
            ("Private counsel", 15))
_CONDITIONS = ("Report to Pretrial Services as directed", "Stay away from the complainant",
               "Drug and alcohol treatment", "House arrest with electronic monitoring",
               "No contact with co-defendants", "Surrender all firearms", "Curfew 9 p.m.-6 a.m.")
# Drawn for cases not already monetary: with the ~8% (F1, murder) that mostly get monetary bail,
# overall about ROR 35%, non-monetary 10%, unsecured 15%, nominal 2%, monetary 38%.
_BAIL_TYPES = (("ror", 38.3), ("non_monetary", 10.9), ("unsecured", 16.4), ("nominal", 2.2),
               ("monetary", 32.2))
_AMOUNTS = {"S": (500, 2500), "M3": (500, 2500), "M2": (1000, 7500), "M1": (1000, 25000),
            "F3": (2500, 50000), "F2": (5000, 100000), "F1": (25000, 250000)}  # monetary, dollars
_LADDER = (Grade.S, Grade.M3, Grade.M2, Grade.M1, Grade.F3, Grade.F2, Grade.F1)
# fmt: on


@dataclass(frozen=True)
class District:
    number: str
    weight: float
    division: str
    zips: tuple[str, ...]
    streets: tuple[str, ...]


@dataclass(frozen=True)
class Incident:
    name: str
    weight: float
    primary: tuple[tuple[str, float], ...]
    extras: tuple[tuple[str, float], ...]
    adds: tuple[str, ...]
    victims: tuple[int, int]
    witness_p: float
    night: bool
    narrative: str


def _pairs(text: str) -> tuple[tuple[str, float], ...]:
    pairs = (item.replace("+", "35-780-113-").split(":") for item in text.split())
    return tuple((key, float(weight)) for key, weight in pairs)


def _district(line: str) -> District:
    head, streets = line.split(" | ")
    number, weight, division, *zips = head.split()
    return District(number, float(weight), division, tuple(zips), tuple(streets.split(", ")))


DISTRICTS = tuple(_district(line) for line in _DISTRICT_TABLE.strip().splitlines())
INCIDENTS = tuple(
    Incident(name, w, _pairs(p), _pairs(x), tuple(a.split()), (int(v[0]), int(v[2])), wp, night, n)
    for name, w, p, x, a, v, wp, night, n in _INCIDENT_TABLE
)


@dataclass
class Person:  # an invented person, who may be arrested again (same identifiers)
    group: str
    fields: dict[str, Any]  # PersonIn fields
    state_id: str
    fbi_number: str | None
    local_person_id: str


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _money(value: float) -> Decimal:
    step = 500 if value < 10000 else 1000 if value < 50000 else 5000
    return Decimal(max(step, round(value / step) * step))


class Synth:
    """Draws people, places, reports and decisions from one random source."""

    def __init__(self, rng: random.Random, place_of_birth: bool, citizenship: bool) -> None:
        self.rng, self.place_of_birth, self.citizenship = rng, place_of_birth, citizenship
        self.people: list[Person] = []
        self._issued: set[str] = set()
        self._groups = [(g, v[0]) for g, v in _GROUPS.items()]
        self.officers = {d.number: [self._officer() for _ in range(10)] for d in DISTRICTS}

    def _unique(self, draw: Callable[[], object]) -> str:
        """A value from `draw()` not handed out before: identifiers must not collide."""
        while (value := str(draw())) in self._issued:
            pass
        self._issued.add(value)
        return value

    def _officer(self) -> dict[str, str]:
        last = self._name(_weighted(self.rng, self._groups), "M")[1]
        return {
            "badge": self._unique(lambda: self.rng.randrange(1000, 9999)),
            "name": f"P/O {last}",
        }

    def person_for(self, incident: Incident, on: date) -> Person:
        """A new person, or now and then someone arrested before."""
        if self.people and self.rng.random() < 0.18:
            return self.rng.choice(self.people)
        self.people.append(self._new_person(incident, on))
        return self.people[-1]

    def _name(self, group: str, sex: str) -> tuple[str, str]:
        r = self.rng
        men, women, surnames = (names.split() for names in _NAMES[group])
        last = r.choice(surnames)
        if r.random() < (0.2 if group == "hispanic" else 0.03):  # two surnames
            other = r.choice(
                _NAMES[group if r.random() < 0.8 else r.choice(list(_NAMES))][2].split()
            )
            last = last if other == last else f"{last}-{other}"
        return r.choice({"M": men, "F": women}.get(sex) or men + women), last.replace("_", " ")

    def _born(self, incident: Incident, on: date) -> date:
        """An age of 18 to 70 on `on`; 16 or 17 now and then, for charges tried as adults."""
        r = self.rng
        if incident.name in _JUVENILE_INCIDENTS and r.random() < 0.08:
            age = r.randint(16, 17)
        else:
            low, high, _ = r.choices(_AGES, [a[2] for a in _AGES])[0]
            age = r.randint(low, high)
        latest, earliest = _years_before(on, age), _years_before(on, age + 1) + timedelta(days=1)
        return earliest + timedelta(days=r.randrange((latest - earliest).days + 1))

    def _new_person(self, incident: Incident, on: date) -> Person:
        r = self.rng
        group = _weighted(r, self._groups)
        _, races, ethnicity, abroad = _GROUPS[group]
        sex = _weighted(r, (("M", 80), ("F", 19.5), ("U", 0.5)))
        first, last = self._name(group, sex)
        male = sex == "M"
        p: dict[str, Any] = {
            "last_name": last, "first_name": first, "date_of_birth": self._born(incident, on),
            "sex": sex, "race": _weighted(r, races), "ethnicity": ethnicity,
            "height_inches": round(r.gauss(70 if male else 64, 3)),
            "weight_pounds": max(95, round(r.gauss(185 if male else 155, 35))),
            "eye_color": _weighted(r, _EYES), "hair_color": _weighted(r, _HAIR),
            "address": self.home_address(),
        }  # fmt: skip
        if r.random() < 0.65:
            middle = self._name(group, sex)[0]
            p["middle_name"] = middle if r.random() < 0.35 else middle[0]
        if male and r.random() < 0.05:
            p["suffix"] = r.choice(("JR", "JR", "JR", "III", "SR"))
        if r.random() < 0.12:  # a nickname, or another name
            names = [(r.choice(_NICKNAMES), last) if r.random() < 0.4 else self._name(group, sex)
                     for _ in range(r.randint(1, 2))]  # fmt: skip
            p["aliases"] = [{"first_name": f, "last_name": n} for f, n in names]
        if r.random() < 0.8:
            p["phone"] = self.phone()
        if r.random() < 0.6:
            area = (a := r.randrange(1, 899)) + (a >= 666)  # 666 is never issued
            p["ssn"] = f"{area:03d}-{r.randrange(1, 100):02d}-{r.randrange(1, 10000):04d}"
        roll = r.random()
        if roll >= 0.82 or (group in ("hispanic", "asian") and roll >= 0.6):
            place, citizenship = r.choice(abroad)
            citizenship = "US" if r.random() < 0.5 else citizenship  # naturalized
        else:
            place, citizenship = "Philadelphia, PA" if roll < 0.72 else r.choice(_BORN_US), "US"
        if self.place_of_birth and r.random() < 0.55:  # only where the jurisdiction collects it
            p["place_of_birth"] = place
        if self.citizenship and r.random() < 0.4:
            p["citizenship"] = citizenship
        sid = self._unique(lambda: f"{r.randrange(10**7, 10**8)}")  # PA SID shape: 123-45-67-8
        letters = r.choice("ABCDEHJKLM")
        fbi = self._unique(lambda: f"{r.randrange(10**5, 10**6)}{letters}{r.randrange(10, 99)}")
        local = self._unique(lambda: r.randrange(10**6, 10**7))
        sid = f"{sid[:3]}-{sid[3:5]}-{sid[5:7]}-{sid[7]}"
        return Person(group, p, sid, fbi if r.random() < 0.55 else None, local)

    def phone(self) -> str:
        return f"{self.rng.choice(('215', '267'))}-555-01{self.rng.randrange(100):02d}"

    def home_address(self) -> str:
        r = self.rng
        if r.random() < 0.08:
            return f"{r.randrange(10, 2999)} Main St, {r.choice(_OUT_OF_CITY)}"
        d = self.district()
        apt = f" Apt {r.randrange(1, 4)}{r.choice('ABCD')}" if r.random() < 0.2 else ""
        street = f"{r.randrange(100, 6999)} {r.choice(d.streets)}{apt}"
        return f"{street}, Philadelphia, PA {r.choice(d.zips)}"

    def district(self) -> District:
        return self.rng.choices(DISTRICTS, [d.weight for d in DISTRICTS])[0]

    def party(self, with_address: float, with_phone: float) -> dict[str, str]:
        r = self.rng
        party = {"name": " ".join(self._name(_weighted(r, self._groups), r.choice("MF")))}
        party |= {"address": self.home_address()} if r.random() < with_address else {}
        return party | ({"phone": self.phone()} if r.random() < with_phone else {})

    def incident(self) -> Incident:
        return self.rng.choices(INCIDENTS, [i.weight for i in INCIDENTS])[0]

    def arrest_time(self, day: date, zone: ZoneInfo, night: bool) -> datetime:
        """An instant on that court day, more likely in the evening and at night."""
        r = self.rng
        hour = r.choices(range(24), _NIGHT_HOURS if night else _HOURS)[0]
        local = datetime(day.year, day.month, day.day, hour, r.randrange(60), r.randrange(60))
        return local.replace(tzinfo=zone).astimezone(UTC)

    def charges(self, incident: Incident) -> list[dict[str, Any]]:
        """One to four charges (ChargeIn) as an officer enters them."""
        r = self.rng
        primary = _weighted(r, incident.primary)
        chosen = [primary] + [c for c, p in incident.extras if c != primary and r.random() < p]
        if r.random() < 0.05:
            chosen.append("18-5104")  # resisting arrest
        out: list[dict[str, Any]] = []
        for key in list(dict.fromkeys(chosen))[:4]:
            charge: dict[str, Any] = {"statute": key}
            if key in _GRADES:
                charge["grade"] = _weighted(r, _pairs(_GRADES[key]))
            if key in _COUNTED and r.random() < 0.2:
                charge["counts"] = r.choice((2, 2, 3, 4))
            if key in _ATTEMPTS and r.random() < _ATTEMPTS[key][0]:
                charge["modifier"], charge["grade"] = "attempt", _ATTEMPTS[key][1]
            out.append(charge)
        return out

    def report(self, incident: Incident, person: Person, at: datetime, n: int) -> dict[str, Any]:
        """An arrest report (ArrestIn fields) for an arrest at `at`; `n` numbers the report."""
        r, district = self.rng, self.district()
        officer = r.choice(self.officers[district.number])
        hundred, street = r.randrange(1, 69) * 100, r.choice(district.streets)
        block, number = f"{hundred} block of {street}", int(district.number)
        unit = f"{number}{_ORDINAL.get(number, 'th')} District"
        if incident.name.startswith("possession") and r.random() < 0.3:
            unit = "Narcotics Field Unit"
        elif incident.name == "DUI" and r.random() < 0.4:
            unit = "Accident Investigation District"
        store = incident.name == "retail theft"
        victims = [{"name": f"{r.choice(_STORES)}, {block}"} if store else self.party(0.7, 0.6)
                   for _ in range(r.randint(*incident.victims))]  # fmt: skip
        witnessed = r.random() < incident.witness_p
        witnesses = [self.party(0.3, 0.5) for _ in range(r.randint(1, 2) if witnessed else 0)]
        what = incident.narrative.format(drug=r.choice(_DRUGS), n=r.randint(2, 9),
                                         value=r.randrange(25, 1800))  # fmt: skip
        year = at.year % 100
        return {
            "arrested_at": at,
            "arrest_type": _weighted(r, (("on_view", 82), ("warrant", 17), ("summons", 1))),
            "location": {"address": f"{hundred + r.randrange(99)} {street}",
                         "district": district.number},
            "arresting_officer": officer,
            "units": {"arresting": unit, "detaining": f"{district.division} Division Cellblock"},
            "report_number": f"{year:02d}-{number:02d}-{n:06d}",
            "incident_number": f"{year:02d}{number:02d}{r.randrange(10000, 99999)}",
            "person": dict(person.fields),
            "charges": self.charges(incident),
            "narrative": f"On the {block}, {officer['name']} #{officer['badge']} {what}.",
            "victims": victims,
            "witnesses": witnesses,
        }  # fmt: skip

    def outcome_reason(self, declined: bool) -> str:
        return self.rng.choice(_DECLINE if declined else _DIVERT)

    def charge_decisions(
        self, incident: Incident, charges: Sequence[Charge], catalogue: ChargeCatalogue
    ) -> list[ChargeDecisionIn]:
        """Mostly approve every charge; now and then amend a grade (one step, mostly down),
        withdraw a lesser charge, or add one."""
        r, approve = self.rng, ChargeAction.APPROVE
        decided = {c.id: ChargeDecisionIn(action=approve, charge_id=c.id) for c in charges}
        top = max(charges, key=lambda c: c.spec.grade.severity)
        target = (top if r.random() < 0.7 else r.choice(charges)).spec
        if r.random() < 0.12 and target.grade in _LADDER:
            k = _LADDER.index(target.grade)
            k += 1 if k == 0 or (k < len(_LADDER) - 1 and r.random() < 0.25) else -1
            amended = ChargeDecisionIn(action=ChargeAction.AMEND, statute=target.statute,
                grade=_LADDER[k], counts=target.counts, modifier=target.modifier)  # fmt: skip
            charge = next(c for c in charges if c.spec is target)
            decided[charge.id] = amended.model_copy(update={"charge_id": charge.id})
        lesser = [c.id for c in charges if c is not top and decided[c.id].action is approve]
        if lesser and r.random() < 0.1:
            gone = r.choice(lesser)
            decided[gone] = ChargeDecisionIn(action=ChargeAction.WITHDRAW, charge_id=gone)
        present = {catalogue.get(c.spec.statute) for c in charges}
        extra = [a for a in incident.adds if catalogue.get(a) not in present]
        if extra and r.random() < 0.06:
            added = ChargeDecisionIn(action=ChargeAction.ADD, statute=r.choice(extra))
            return [*decided.values(), added]
        return list(decided.values())

    def arraignment(self, grade: Grade | None, victims: bool, session_day: date) -> ArraignmentIn:
        """Probable cause found 99%; bail; the preliminary hearing on a weekday 3 to 10 days
        after the session."""
        r = self.rng
        found = r.random() >= 0.01
        weekdays = [session_day + timedelta(days=k) for k in range(3, 11)]
        hearing = r.choice([d for d in weekdays if d.weekday() < 5])
        return ArraignmentIn(
            magistrate=r.choice(_MAGISTRATES),
            defense_counsel=_weighted(r, _COUNSEL),
            prosecutor=r.choice(_ADAS),
            probable_cause_found=found,
            bail=self._bail(grade, victims) if found else None,
            preliminary_hearing_date=hearing if found else None,
        )

    def _bail(self, grade: Grade | None, victims: bool) -> BailIn:
        """Monetary always for murder and mostly for F1, else drawn from `_BAIL_TYPES`; the
        amount grows with the grade."""
        r = self.rng
        kind = BailType(_weighted(r, _BAIL_TYPES))
        if grade and (grade.value[0] == "H" or (grade is Grade.F1 and r.random() < 0.7)):
            kind = BailType.MONETARY
        low, high = _AMOUNTS.get(grade.value if grade else "M2", (100000, 250000))
        conditions = r.sample(_CONDITIONS, r.randint(1, 3)) if kind is BailType.NON_MONETARY else []
        if kind in (BailType.MONETARY, BailType.UNSECURED) and victims and r.random() < 0.4:
            conditions = ["Stay away from the complainant"]
        amount = {BailType.MONETARY: _money(low * (high / low) ** r.random()),
                  BailType.UNSECURED: _money(min(high, 25000) * r.uniform(0.1, 1) + 500),
                  BailType.NOMINAL: Decimal(1)}.get(kind)  # fmt: skip
        deposit = Decimal(10) if kind is BailType.MONETARY else None
        return BailIn(type=kind, amount=amount, deposit_percent=deposit, conditions=conditions)

    def correction(self, narrative: str) -> tuple[str, dict[str, Any], bool]:
        """(reason, changes, by the officer rather than the clerk) for a correction."""
        kind = self.rng.randrange(3)
        if kind == 0:
            address = {"person": {"address": self.home_address()}}
            return "Address verified by Pretrial Services", address, False
        if kind == 1:
            return "Contact number updated at interview", {"person": {"phone": self.phone()}}, False
        text = f"{narrative} Supplemental: body-worn camera footage reviewed."
        return "Supplemental report", {"narrative": text}, True
