"""A typical arrest report, scripted through the booking screen as an officer does it: the
requests the browser sends (each timed), and the keys and clicks it takes.

The officer: signed in, on /booking; date, time and type of arrest (on view) are prefilled with
now, and the badge, name, units and district from the officer's last report (as `new_form`
does). The report: the most common kind in the demo (drug possession, 14% of its arrests) with
its most common second charge (paraphernalia, half of those): two charges, each typed as the
fewest letters of a few words that bring the charge into the suggestions, then picked with a
click; no victims or witnesses; the person someone arrested before (a person record exists, as
for about one arrest in five in the demo), typed from that arrest's report (names, date of birth,
sex, race, ethnicity, home address, phone, height, weight, eyes, hair; not the SSN): the names and
the date of birth typed, then the person picked from the identity candidates (which fills the
state ID, FBI number and local ID, and, where still empty, the description and contact details
from that person's last arrest, `GET /booking/prefill/{person}` as booking.js asks it); a field
so filled with the value the officer would have typed is checked, not typed (the figure assumes
the details still hold: each one that changed costs its keys); then the place of
arrest, report and incident numbers, and a narrative of `narrative_chars` characters.

Keys: each character typed; a date of birth as its 8 digits (MMDDYYYY, as a date field takes
them); a list as the letters that select the option (type-ahead: the first letter, repeated
to reach a later option with that letter); Tab to move to the next field, counted through every
focusable element between (the order of the rendered form); a move of more than `max_tabs`
Tabs, or backwards, is a click instead. Clicks: into the first field, each suggestion and the
candidate picked, "Add another charge", "Review and submit", "Submit". Requests: what HTMX
sends as the officer goes (form.html): the candidates once per field of the person block
(`input changed delay:300ms` fires when typing pauses; five keys a second is a key every
200 ms), the suggestions once per key in a citation field (`delay:200ms`, taken as firing on
each key), an autosave on every change (leaving a field, a pick).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from bench._screens_app import Browser

__all__ = ["CHARGES", "NARRATIVE", "Report", "typical_person", "write_report"]

# (words the officer would type, the catalogue key to pick)
CHARGES = (("knowingly possessing", "35-780-113-A16"), ("paraphernalia", "35-780-113-A32"))
NARRATIVE = (
    "On the 2900 block of Kensington Ave, officers saw the defendant hand a small item to an "
    "unknown male in exchange for cash. Officers stopped the defendant, who dropped a clear bag "
    "on the sidewalk. The bag was recovered and held 7 packets of suspected fentanyl. A glass "
    "pipe was found in the defendant's right jacket pocket. The defendant was placed under "
    "arrest without incident and transported to the 24th District. Property receipt 3212345 "
    "was issued for the narcotics and the pipe. No injuries. Defendant gave no statement."
)
PLACE = "2931 Kensington Ave"
REPORT_NUMBER = "26-24-004512"
INCIDENT_NUMBER = "2624051234"
PERSON_TYPED = (
    "last_name", "first_name", "middle_name", "date_of_birth", "sex", "race", "ethnicity",
    "address", "phone", "height_inches", "weight_pounds", "eye_color", "hair_color",
)  # fmt: skip
PERSON_BLOCK: tuple[str, ...] = (
    "last_name",
    "first_name",
    "middle_name",
    "suffix",
    "date_of_birth",
    "sex",
)
PERSON_BLOCK += ("race", "ethnicity", "address")


def narrative(chars: int) -> str:
    text = NARRATIVE
    while len(text) < chars:
        text += " " + NARRATIVE
    return text[:chars].rstrip() + "." if text[chars - 1] == " " else text[: chars - 1] + "."


# -- the rendered form: its fields' values and focus order ------------------------------------


class _Form(HTMLParser):
    """The booking form's fields as a browser would post them, its focus order (Tab stops)
    and each list's options."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.stops: list[str] = []
        self.options: dict[str, list[tuple[str, str]]] = {}
        self._in_form = False
        self._select: str | None = None
        self._option: str | None = None
        self._text: str | None = None  # the textarea being read
        self._chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "booking-form":
            self._in_form = True
        if not self._in_form:
            return
        name, kind = a.get("name", ""), a.get("type", "text")
        if tag == "input":
            if kind == "hidden":
                self.values[name] = a.get("value", "")
                return
            if kind == "radio":
                if "checked" in a:
                    self.values[name] = a.get("value", "")
                if name not in self.stops:
                    self.stops.append(name)  # a radio group is one Tab stop
                return
            self.values[name] = a.get("value", "")
            self.stops.append(name)
        elif tag == "select":
            self._select = name
            self.values[name] = ""
            self.options[name] = []
            self.stops.append(name)
        elif tag == "option" and self._select:
            self._option = a.get("value", "")
            self._chunks = []
            if "selected" in a:
                self.values[self._select] = self._option
        elif tag == "textarea":
            self._text, self._chunks = name, []
            self.stops.append(name)
        elif tag == "button" and "pars-noscript-only" not in a.get("class", ""):
            self.stops.append(f"button:{a.get('id') or a.get('value', '')}")

    def handle_data(self, data: str) -> None:
        if self._text is not None or self._option is not None:
            self._chunks.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._text is not None:
            self.values[self._text] = "".join(self._chunks).strip("\r\n")
            self._text = None
        elif tag == "option" and self._select and self._option is not None:
            self.options[self._select].append((self._option, "".join(self._chunks).strip()))
            self._option = None
        elif tag == "select":
            self._select = None


def read_form(html: str) -> _Form:
    f = _Form()
    f.feed(html)
    return f


def select_keys(options: list[tuple[str, str]], value: str) -> int:
    """Keys to choose `value` in a closed list by typing its first letter (again and again to
    move along the options starting with that letter)."""
    text = next(t for v, t in options if v == value)
    same = [t for _, t in options if t[:1].lower() == text[:1].lower()]
    return same.index(text) + 1


# -- the script --------------------------------------------------------------------------------


@dataclass
class Report:
    keys: int = 0
    tabs: int = 0
    clicks: int = 0
    typed: list[tuple[str, str, int]] = field(default_factory=list)  # (field, as typed, keys)
    picks: list[str] = field(default_factory=list)
    requests: list[tuple[str, float, int]] = field(default_factory=list)  # (what, ms, status)
    otn: str = ""
    arrest_id: str = ""

    def seconds(self, keys_per_second: float = 5.0, per_click: float = 1.0) -> float:
        return (self.keys + self.tabs) / keys_per_second + self.clicks * per_click


def typical_person(pars: Any) -> dict[str, Any]:
    """A person arrested before, as that arrest's report gives them, with the person record's
    id: the newest identified arrest whose report has every field the script types."""
    from pars.services.app import Principal
    from pars.services.views import list_arrests
    from pars.store.arrests import ArrestFilter

    who = Principal("supervisor", "supervisor")
    found = list_arrests(pars, who, ArrestFilter(states=("arraigned",)), 200, None)["items"]
    needed = set(PERSON_TYPED) - {"middle_name", "phone"}
    for view in found:
        person, ident = view.get("person") or {}, view.get("identification") or {}
        if ident.get("person_id") and needed <= {k for k, v in person.items() if v}:
            return {"person_id": ident["person_id"], **person}
    raise RuntimeError("no identified arrest with a complete person block in the demo")


class _Officer:
    def __init__(self, b: Browser, report: Report, max_tabs: int) -> None:
        self.b, self.r, self.max_tabs = b, report, max_tabs
        self.form: dict[str, str] = {}
        self.order: list[str] = []  # Tab stops, as the finished form renders them
        self.at: int | None = None  # the stop with the focus

    def send(self, what: str, method: str, path: str, **kw: Any) -> Any:
        r = self.b.request(method, path, **kw)
        self.r.requests.append((what, self.b.hits[-1].ms, r.status_code))
        if r.status_code >= 400:
            raise RuntimeError(f"{what}: {method} {path} answered {r.status_code}: {r.text[:400]}")
        return r

    def autosave(self) -> None:
        r = self.send("autosave", "POST", "/booking/save", htmx=True, data=self.form)
        url = r.headers.get("HX-Replace-Url", "")
        if url:
            self.form["arrest_id"] = url.rsplit("/", 1)[1]

    def move(self, stop: str) -> None:
        target = self.order.index(stop)
        if self.at is not None and 0 < target - self.at <= self.max_tabs:
            self.r.tabs += target - self.at
        elif self.at != target:
            self.r.clicks += 1
        self.at = target

    def type(self, name: str, value: str, keys: int | None = None) -> None:
        self.move(name)
        self.form[name] = value
        n = len(value) if keys is None else keys
        self.r.keys += n
        self.r.typed.append((name, value, n))
        if name.removeprefix("person.") in PERSON_BLOCK:
            self.send("candidates", "POST", "/booking/candidates", htmx=True, data=self.form)
        self.autosave()  # the change event when the officer leaves the field

    def click(self, stop: str) -> None:
        self.r.clicks += 1
        self.at = self.order.index(stop) if stop in self.order else self.at


def write_report(
    b: Browser, person: dict[str, Any], narrative_chars: int, max_tabs: int = 5
) -> Report:
    """Drive the report through the screens; the keys and clicks are counted against the
    order of the finished form (rendered once the draft has both charges)."""
    report = Report()
    o = _Officer(b, report, max_tabs)
    o.send("my reports", "GET", "/booking")
    report.clicks += 1  # "Start a new arrest report"
    page = read_form(o.send("new report", "GET", "/booking/new").text)
    o.form = dict(page.values)
    o.order = _final_order(b, page)
    for f in PERSON_TYPED:
        value = person.get(f)
        if value in (None, ""):
            continue
        name = f"person.{f}"
        if o.form.get(name) == str(value):
            continue  # filled in by the pick from the person's last arrest: checked, not typed
        if name in page.options:
            o.type(name, str(value), select_keys(page.options[name], str(value)))
        elif f == "date_of_birth":
            o.type(name, str(value), 8)
        else:
            o.type(name, str(value))
        if f == "date_of_birth":
            _pick_candidate(o, person["person_id"])
    for i, (words, key) in enumerate(CHARGES):
        if i > 0:  # Tab from the counts to "Add another charge" (no second row yet), press it
            tabs = page.stops.index("button:add-charges") - page.stops.index("charges.0.counts")
            if tabs <= max_tabs:
                report.tabs += tabs
            else:
                report.clicks += 1
            o.click("button:add-charges")
            o.send("add a charge row", "GET", f"/booking/row/charges/{i}", htmx=True)
            o.form |= {f"charges.{i}.{k}": "" for k in ("statute", "grade", "modifier")}
            o.form[f"charges.{i}.counts"] = "1"
        _charge(o, i, words, key)
    for name, value in (
        ("location.address", PLACE),
        ("location.district", page.values.get("location.district") or "24"),
        ("report_number", REPORT_NUMBER),
        ("incident_number", INCIDENT_NUMBER),
        ("narrative", narrative(narrative_chars)),
    ):
        if o.form.get(name) != value:
            o.type(name, value)
    o.click("button:review")  # a plain form post, then the review page
    r = o.send("review and submit", "POST", "/booking/save", data=o.form | {"action": "review"})
    review = o.send("review page", "GET", r.headers["location"])
    report.arrest_id = o.form["arrest_id"]
    if "/submit" not in review.text:
        raise RuntimeError(f"the review page offers no submit: {review.text[:600]}")
    report.clicks += 1  # "Submit: save and send"
    r = o.send("submit", "POST", f"/booking/{report.arrest_id}/submit")
    done = o.send("done page (the OTN)", "GET", r.headers["location"])
    m = re.search(r'id="otn">([^<]+)<', done.text)
    report.otn = m.group(1).strip() if m else ""
    return report


def _final_order(b: Browser, new: _Form) -> list[str]:
    """The Tab stops of the form with two charge rows and a person picked: the new form's
    order with the second row and the "None of these" button where the page renders them."""
    stops = list(new.stops)
    row0 = [s for s in stops if s.startswith("charges.0.")]
    at = stops.index(row0[-1]) + 1
    stops[at:at] = [s.replace("charges.0.", "charges.1.") for s in row0]
    if "button:pick:none" not in stops:
        stops.insert(stops.index("person.phone"), "button:pick:none")
    return stops


_DATA = re.compile(r'data-(pick|state-id|fbi-number|local-person-id)="([^"]*)"')


def _pick_candidate(o: _Officer, person_id: str) -> None:
    """Candidates were asked after each field of the person block; the last answer is on the
    screen: the officer clicks "This is the person" on the record arrested before."""
    r = o.send("candidates", "POST", "/booking/candidates", htmx=True, data=o.form)
    buttons = re.findall(r"<button[^>]*pars-pick[^>]*>", r.text)
    for tag in buttons:
        data = dict(_DATA.findall(tag))
        if data.get("pick") == person_id:
            break
    else:
        raise RuntimeError(f"the person arrested before is not among {len(buttons)} candidates")
    o.form["person_id"] = person_id
    for key in ("state-id", "fbi-number", "local-person-id"):
        if data.get(key):
            o.form[f"person.{key.replace('-', '_')}"] = data[key]
    o.r.picks.append(f"candidate {buttons.index(tag) + 1} of {len(buttons)}")
    o.click("button:pick:none")  # the candidate's button sits where this one renders
    # booking.js then asks what the person's last arrest says, into the fields left empty.
    found = o.send("prefill after the pick", "GET", f"/booking/prefill/{person_id}").json()
    filled = [k for k, v in found["fields"].items() if not o.form.get(k)]
    o.form |= {k: found["fields"][k] for k in filled}
    o.r.picks.append(f"{len(filled)} fields filled in from the last arrest")
    o.autosave()


def _charge(o: _Officer, i: int, words: str, key: str) -> None:
    """Type letters of `words` until the charge is suggested, then click it."""
    name = f"charges.{i}.statute"
    o.move(name)
    for n in range(1, len(words) + 1):
        prefix = words[:n]
        o.r.keys += 1
        r = o.send("charge suggestions", "GET", f"/booking/charges/{i}",
                   htmx=True, params={name: prefix})  # fmt: skip
        found = re.findall(r'value="charge:\d+:([^"]+)"[^>]*data-statute="([^"]*)"'
                           r'[^>]*data-grade="([^"]*)"', r.text)  # fmt: skip
        keys = [k for k, _, _ in found]
        if key in keys:
            _, statute, grade = found[keys.index(key)]
            o.r.typed.append((name, prefix, n))
            o.r.picks.append(f"{statute} after {prefix!r} ({keys.index(key) + 1} of {len(keys)})")
            o.form[name], o.form[f"charges.{i}.grade"] = statute, grade
            o.click(f"charges.{i}.counts")  # the pick; booking.js then focuses the counts
            o.autosave()
            return
    raise RuntimeError(f"{key} never suggested for {words!r}")


def filled_form(
    values: dict[str, str], person: dict[str, Any], narrative_chars: int
) -> dict[str, str]:
    """The new form (`values`, as rendered) with the typical report in it, as the browser
    posts it once everything is typed and picked (the charges by their citation)."""
    from pars.domain.catalogue import ChargeCatalogue

    catalogue = ChargeCatalogue.default()
    form = dict(values)
    for f in PERSON_TYPED:
        if person.get(f) not in (None, ""):
            form[f"person.{f}"] = str(person[f])
    for i, (_, key) in enumerate(CHARGES):
        offense = catalogue.get(key)
        assert offense is not None, key
        row = {"statute": str(offense.citation), "counts": "1", "modifier": ""}
        row["grade"] = offense.default_grade.value
        form |= {f"charges.{i}.{k}": v for k, v in row.items()}
    form |= {"location.address": PLACE, "report_number": REPORT_NUMBER}
    form |= {"incident_number": INCIDENT_NUMBER, "narrative": narrative(narrative_chars)}
    form.setdefault("location.district", "24")
    form["location.district"] = form["location.district"] or "24"
    return form
