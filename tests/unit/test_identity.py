"""Identity matching building blocks: normalisers, phonetic codes, comparators, blocking keys."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import date
from functools import cache

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pars.identity.blocking import MAX_ALIAS_KEYS, blocking_keys
from pars.identity.compare import (
    MISSING,
    AddressLevel,
    DobLevel,
    NameLevel,
    PersonFields,
    PhoneLevel,
    SexLevel,
    compare_address,
    compare_dob,
    compare_names,
    compare_persons,
    compare_phone,
    compare_sex,
    year_only,
)
from pars.identity.nicknames import CANONICAL_NAMES, NICKNAMES
from pars.identity.normalize import (
    canonical_first_name,
    fold,
    is_placeholder_name,
    name_tokens,
    name_variants,
    normalize_address,
    normalize_phone,
    parse_address,
)
from pars.identity.phonetic import double_metaphone, nysiis, soundex
from pars.identity.similarity import damerau_levenshtein, jaro_winkler

# No example database: the suite must not write files into the checkout.
PROPERTY = settings(max_examples=200, deadline=None, database=None)

# ---------------------------------------------------------------------------------------------
# Normalisation


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("García-Márquez", "GARCIA MARQUEZ"),
        ("  josé   ñúñez ", "JOSE NUNEZ"),
        ("O'Brien", "OBRIEN"),
        ("D’Angelo", "DANGELO"),
        ("Straße", "STRASSE"),
        ("Øster, Łukasz", "OSTER LUKASZ"),
        ("St. John-Smith Jr.", "ST JOHN SMITH JR"),
        ("Apt #3-B", "APT 3 B"),
        ("", ""),
        (None, ""),
        ("-'.", ""),
    ],
)
def test_fold(text: str | None, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("García-Márquez", ("GARCIA", "MARQUEZ")),
        ("Garcia Marquez", ("GARCIA", "MARQUEZ")),
        ("María de la Cruz", ("MARIA", "CRUZ")),
        ("de los Santos", ("SANTOS",)),
        ("Van der Berg", ("BERG",)),
        ("von Trapp", ("TRAPP",)),
        ("Dos Santos", ("SANTOS",)),
        ("Rodríguez y Pérez", ("RODRIGUEZ", "PEREZ")),
        ("McDonald", ("MCDONALD",)),
        ("Mc Donald", ("MCDONALD",)),
        ("Mac Gregor", ("MACGREGOR",)),
        ("O'Brien", ("OBRIEN",)),
        ("O Brien", ("OBRIEN",)),
        ("Smith Jr.", ("SMITH",)),
        ("Smith III", ("SMITH",)),
        ("Le", ("LE",)),  # a particle that is the whole name stays: common Vietnamese surname
        ("De La", ("DE", "LA")),
        ("", ()),
        (None, ()),
    ],
)
def test_name_tokens(name: str | None, tokens: tuple[str, ...]) -> None:
    assert name_tokens(name) == tokens


def test_nickname_table_is_large_and_consistent() -> None:
    assert len(NICKNAMES) >= 300
    # A canonical name is never itself a nickname, so canonicalising is idempotent.
    assert not set(NICKNAMES) & CANONICAL_NAMES
    for nick, names in NICKNAMES.items():
        assert nick == fold(nick) and names and all(n == fold(n) for n in names)
        assert canonical_first_name(canonical_first_name(nick)) == canonical_first_name(nick)


@pytest.mark.parametrize(
    ("nicknames", "canonical"),
    [
        ("Bill Billy Will Willie Liam", "WILLIAM"),
        ("Bob Bobby Rob Robbie", "ROBERT"),
        ("Peggy Maggie Meg", "MARGARET"),
        ("Jim Jimmy", "JAMES"),
        ("Pepe", "JOSE"),
        ("Paco Pancho", "FRANCISCO"),
        ("Chuck Charlie", "CHARLES"),
        ("Tony", "ANTHONY"),
        ("Dick Rick", "RICHARD"),
    ],
)
def test_canonical_first_name(nicknames: str, canonical: str) -> None:
    for nick in nicknames.split():
        assert canonical_first_name(nick) == canonical
        assert canonical in name_variants(nick)
    assert canonical_first_name(canonical.title()) == canonical


def test_canonical_first_name_passes_other_names_through() -> None:
    assert canonical_first_name("Tyrell") == "TYRELL"
    assert canonical_first_name("José María") == "JOSE"  # first part only
    assert canonical_first_name(None) == ""


def test_ambiguous_nickname_has_every_reading() -> None:
    assert {"AL", "ALBERT", "ALFRED", "ALAN"} <= name_variants("Al")
    assert canonical_first_name("Al") == "ALBERT"  # deterministic: the first reading
    assert name_variants("Xochitl") == {"XOCHITL"}
    assert name_variants("") == frozenset()


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("123 North Broad Street, Apt. #3-B", "123 N BROAD ST APT 3B"),
        ("123 N. Broad St. Apt 3B", "123 N BROAD ST APT 3B"),
        ("123 n broad st #3b", "123 N BROAD ST APT 3B"),
        ("45 West Second Avenue", "45 W 2ND AVE"),
        ("9 Saint Marks Place, Suite 200", "9 ST MARKS PL STE 200"),
        ("1500 Market Boulevard", "1500 MARKET BLVD"),
        ("700 Roosevelt Expressway Unit 4", "700 ROOSEVELT EXPY UNIT 4"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_address(text: str | None, normal: str) -> None:
    assert normalize_address(text) == normal


def test_parse_address() -> None:
    parts = parse_address("123 North Broad Street, Apt 3B, Philadelphia, PA 19107-1234")
    assert parts is not None
    assert parts == ("123", "N BROAD ST", "APT 3B", "19107")
    parts = parse_address("123 Main St Philadelphia PA 19104")
    assert parts is not None and (parts.street, parts.zip_code) == ("MAIN ST", "19104")
    parts = parse_address("2nd Street", "19106")
    assert parts is not None and parts.house == "" and parts.street == "2ND ST"
    assert parse_address("   ") is None and parse_address(None) is None


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("(215) 555-1234", "2155551234"),
        ("1-215-555-1234", "2155551234"),
        ("+1 215.555.1234", "2155551234"),
        ("215 555 1234 ext. 12", "2155551234"),
        ("215-555-1234 x5", "2155551234"),
        ("555-1234", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(text: str | None, digits: str | None) -> None:
    assert normalize_phone(text) == digits


# ---------------------------------------------------------------------------------------------
# Phonetic codes


@pytest.mark.parametrize(
    ("name", "code"),
    [
        # The National Archives' published examples.
        ("Robert", "R163"),
        ("Rupert", "R163"),
        ("Rubin", "R150"),
        ("Ashcraft", "A261"),  # H does not separate S and C
        ("Ashcroft", "A261"),
        ("Tymczak", "T522"),  # a vowel does separate C and K
        ("Pfister", "P236"),  # F has the first letter's code
        ("Honeyman", "H555"),
        ("Lee", "L000"),
        ("", ""),
    ],
)
def test_soundex(name: str, code: str) -> None:
    assert soundex(name) == code


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Knuth", "NAT"),  # KN -> NN, final H repeats T
        ("MacIntosh", "MCANT"),  # MAC -> MCC, final S dropped, final A dropped
        ("Brown", "BRAN"),  # W after a vowel repeats the A and vanishes
        ("Johnson", "JANSAN"),
        ("Williams", "WALAN"),
        ("Smith", "SNAT"),
        ("Schmidt", "SNAD"),  # SCH -> SSS, DT -> D
        ("Carlson", "CARLSA"),  # CARLSAN, cut to six characters
        ("", ""),
    ],
)
def test_nysiis(name: str, code: str) -> None:
    assert nysiis(name) == code


def test_nysiis_full_key() -> None:
    assert nysiis("Carlson", max_length=None) == "CARLSAN"


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        # Philips' own examples and cases read off his reference implementation.
        ("Smith", ("SM0", "XMT")),
        ("Schmidt", ("XMT", "SMT")),
        ("Thompson", ("TMPS", "TMPS")),  # TH before OM is T; the P is sounded
        ("Thomas", ("TMS", "TMS")),
        ("Jose", ("HS", "HS")),  # Spanish J
        ("Xavier", ("SF", "SFR")),  # initial X is S; French final R only in the secondary
        ("Michael", ("MKL", "MXL")),
        ("Catherine", ("K0RN", "KTRN")),
        ("Kathryn", ("K0RN", "KTRN")),
        ("Knight", ("NT", "NT")),
        ("Jankelowicz", ("JNKL", "ANKL")),
        ("Filipowicz", ("FLPT", "FLPF")),
        ("Wasserman", ("ASRM", "FSRM")),
        ("Arnow", ("ARN", "ARNF")),
        ("Gallegos", ("KLKS", "KKS")),
        ("Cabrillo", ("KPRL", "KPR")),
        ("Breaux", ("PR", "PR")),
        ("Zhao", ("J", "J")),
        ("Caesar", ("SSR", "SSR")),
        ("Dumb", ("TM", "TM")),
        ("Campbell", ("KMPL", "KMPL")),
        ("François", ("FRNS", "FRNS")),  # Ç keeps its own rule: S, not K
        ("Peña", ("PN", "PN")),
        ("", ("", "")),
        ("'-", ("", "")),
    ],
)
def test_double_metaphone(name: str, codes: tuple[str, str]) -> None:
    assert double_metaphone(name) == codes


def test_double_metaphone_ignores_case_and_accents() -> None:
    assert double_metaphone("GARCÍA") == double_metaphone("garcia") == ("KRS", "KRX")


# ---------------------------------------------------------------------------------------------
# String similarity


@pytest.mark.parametrize(
    ("a", "b", "similarity"),
    [("MARTHA", "MARHTA", 0.961), ("DWAYNE", "DUANE", 0.840), ("DIXON", "DICKSONX", 0.813)],
)
def test_jaro_winkler_published_values(a: str, b: str, similarity: float) -> None:
    assert jaro_winkler(a, b) == pytest.approx(similarity, abs=5e-4)


def test_jaro_winkler_edges() -> None:
    assert jaro_winkler("", "") == 1.0
    assert jaro_winkler("ABC", "") == 0.0
    assert jaro_winkler("ABC", "XYZ") == 0.0
    # Below the 0.7 boost threshold a common prefix adds nothing.
    assert jaro_winkler("ABCDXYZWVU", "ABCDQRSTMN") == pytest.approx(0.6, abs=1e-9)


@PROPERTY
@given(st.text("ABCDE", max_size=8), st.text("ABCDE", max_size=8))
def test_jaro_winkler_bounds(a: str, b: str) -> None:
    assert 0.0 <= jaro_winkler(a, b) <= 1.0
    assert jaro_winkler(a, a) == 1.0


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("KITTEN", "SITTING", 3),
        ("ABCDEF", "ABDCEF", 1),  # one transposition
        ("CA", "ABC", 3),  # optimal string alignment, not unrestricted Damerau-Levenshtein
        ("", "ABC", 3),
        ("SAME", "SAME", 0),
    ],
)
def test_damerau_levenshtein(a: str, b: str, distance: int) -> None:
    assert damerau_levenshtein(a, b) == distance == damerau_levenshtein(b, a)


def _osa_reference(a: str, b: str) -> int:
    @cache
    def d(i: int, j: int) -> int:
        if not i or not j:
            return i or j
        best = min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))
        if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
            best = min(best, d(i - 2, j - 2) + 1)
        return best

    return d(len(a), len(b))


@PROPERTY
@given(st.text("ABC", max_size=7), st.text("ABC", max_size=7))
def test_damerau_levenshtein_matches_reference(a: str, b: str) -> None:
    assert damerau_levenshtein(a, b) == _osa_reference(a, b)


# ---------------------------------------------------------------------------------------------
# Name comparison

NL = NameLevel


@pytest.mark.parametrize(
    ("a", "b", "first", "last", "reason"),
    [
        (("José", "García"), ("JOSE", "GARCIA"), NL.EXACT, NL.EXACT, "exact"),
        (("Ann", "De La Cruz"), ("Ann", "DELACRUZ"), NL.EXACT, NL.EXACT, "exact"),
        (("Bill", "Smith"), ("William", "Smith"), NL.NICKNAME, NL.EXACT, "BILL~WILLIAM"),
        (("Bill", "Smith"), ("Will", "Smith"), NL.NICKNAME, NL.EXACT, "nickname"),
        (("Garcia", "Maria"), ("Maria", "Garcia"), NL.SWAPPED, NL.SWAPPED, "swapped"),
        (("Ana", "García-Márquez"), ("Ana", "Garcia"), NL.EXACT, NL.TOKEN, "GARCIA"),
        (("Ana", "Márquez"), ("Ana", "Garcia Marquez"), NL.EXACT, NL.TOKEN, "MARQUEZ"),
        (("Ana", "de la Cruz"), ("Ana", "Cruz"), NL.EXACT, NL.TOKEN, "CRUZ"),
        (("Catherine", "Thompson"), ("Kathryn", "Thompson"), NL.PHONETIC, NL.EXACT, "K0RN"),
        (("Jon", "Smith"), ("John", "Smyth"), NL.PHONETIC, NL.PHONETIC, "DM code"),
        (("Ann", "Johnston"), ("Ann", "Johnson"), NL.EXACT, NL.JW_92, "jaro-winkler"),
        (("Ann", "Robinson"), ("Ann", "Robertson"), NL.EXACT, NL.JW_80, "jaro"),
        (("Ann", "Jones"), ("Ann", "James"), NL.EXACT, NL.DISAGREE, "disagree"),
        (("Ann", None), ("Ann", "Jones"), NL.EXACT, MISSING, "missing"),
        ((None, "Jones"), ("", "Jones"), MISSING, NL.EXACT, "missing"),
    ],
)  # fmt: skip
def test_compare_names(
    a: tuple[str | None, str | None],
    b: tuple[str | None, str | None],
    first: int,
    last: int,
    reason: str,
) -> None:
    result = compare_names(a[0], a[1], b[0], b[1])
    assert (result.first, result.last) == (first, last)
    assert reason in result.first_reason + " " + result.last_reason


def test_swapped_names_with_a_nickname_and_a_typo() -> None:
    result = compare_names("Smith", "Bill", "William", "Smith")
    assert (result.first, result.last) == (NameLevel.SWAPPED, NameLevel.SWAPPED)
    assert "nickname" in result.first_reason + result.last_reason
    result = compare_names("Garcia", "Maria", "Maria", "Garsia")
    assert (result.first, result.last) == (NameLevel.PHONETIC, NameLevel.SWAPPED)
    # Two different people named alike across fields are not a swap.
    result = compare_names("James", "Taylor", "Taylor", "Swift")
    assert result.first < NameLevel.SWAPPED


def test_aliases_count_as_names() -> None:
    result = compare_names("John", "Smith", "Juan", "Garcia", aliases_a=[("Juan", "García")])
    assert (result.first, result.last) == (NameLevel.EXACT, NameLevel.EXACT)
    assert result.first_reason.startswith("via alias")
    result = compare_names("Juan", "Garcia", "Jon", "Smith", aliases_b=[("Johnny", "Garcia")])
    assert result.last == NameLevel.EXACT
    # The person's own names win a tie with an alias.
    result = compare_names("Ann", "Lee", "Ann", "Lee", aliases_a=[("Ann", "Lee")])
    assert result.first_reason == "exact"


# ---------------------------------------------------------------------------------------------
# Other fields


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        (date(1990, 4, 2), date(1990, 4, 2), DobLevel.EXACT),
        (date(1990, 4, 2), date(1990, 2, 4), DobLevel.DAY_MONTH_SWAPPED),
        (date(1990, 4, 2), date(1990, 4, 3), DobLevel.ONE_DIGIT),
        (date(1990, 4, 2), date(1980, 4, 2), DobLevel.ONE_DIGIT),
        (date(1990, 12, 3), date(1990, 12, 30), DobLevel.TRANSPOSED),
        (date(1989, 4, 2), date(1998, 4, 2), DobLevel.TRANSPOSED),
        (date(1990, 11, 2), date(1991, 1, 2), DobLevel.TRANSPOSED),  # across year and month
        (date(1990, 4, 2), date(1990, 4, 28), DobLevel.SAME_YEAR_MONTH),
        (date(1989, 6, 15), date(1990, 6, 15), DobLevel.YEAR_CLOSE),
        (date(1990, 4, 2), date(1975, 9, 19), DobLevel.DISAGREE),
        (date(1990, 4, 25), date(1990, 5, 24), DobLevel.DISAGREE),  # no swap: 25 is no month
        (None, date(1990, 4, 2), MISSING),
        (date(1990, 4, 2), None, MISSING),
    ],
)
def test_compare_dob(a: date | None, b: date | None, level: int) -> None:
    result = compare_dob(a, b)
    assert result.level == level
    assert result.reason


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("M", "male", SexLevel.AGREE),
        ("F", "M", SexLevel.DISAGREE),
        ("X", "X", SexLevel.AGREE),
        ("U", "M", MISSING),
        (None, "F", MISSING),
    ],
)
def test_compare_sex(a: str | None, b: str | None, level: int) -> None:
    assert compare_sex(a, b).level == level


AL = AddressLevel


@pytest.mark.parametrize(
    ("a", "b", "zips", "level"),
    [
        ("123 North Broad Street Apt 3B", "123 N. Broad St. #3-B", (None, None), AL.EXACT),
        ("123 N Broad St, Philadelphia, PA 19107", "123 N Broad St", (None, None), AL.EXACT),
        ("123 N Broad St", "123 N Brod St", ("19107", "19107"), AL.SAME_STREET),
        ("123 N Broad St", "123 N Broad St", ("19107", "19130"), AL.DISAGREE),
        ("123 N Broad St", "123 N Broad St", ("19107", "19104"), AL.SAME_STREET),  # ZIP typo
        ("123 N Broad St", "77 Elm Ave", ("19107", "19107-2201"), AL.SAME_ZIP),
        ("123 N Broad St", "77 Elm Ave", (None, None), AL.DISAGREE),
        ("123 N Broad St", "124 N Broad St", (None, None), AL.SAME_STREET_NAME),
        ("123 N Broad St", "123 N Broad St", ("19107", "19170"), AL.SAME_STREET),  # ZIP slip
        ("8 Osburndrive", "8 Osburn Drive", ("6030", "6030"), AL.SAME_STREET),
        (None, "77 Elm Ave", (None, None), MISSING),
        ("", "", ("", None), MISSING),
    ],
)  # fmt: skip
def test_compare_address(
    a: str | None, b: str | None, zips: tuple[str | None, str | None], level: int
) -> None:
    assert compare_address(a, b, *zips).level == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("(215) 555-1234", "1-215-555-1234", PhoneLevel.EXACT),
        ("215-555-1234", "267-555-1234", PhoneLevel.SAME_LINE),
        ("215-555-1234", "215-555-1284", PhoneLevel.ONE_EDIT),
        ("215-555-1234", "215-555-1243", PhoneLevel.ONE_EDIT),
        ("215-555-1234", "215-444-9876", PhoneLevel.DISAGREE),
        ("555-1234", "215-555-1234", MISSING),
        (None, "215-555-1234", MISSING),
    ],
)
def test_compare_phone(a: str | None, b: str | None, level: int) -> None:
    assert compare_phone(a, b).level == level


def test_compare_persons_gives_the_gamma_vector() -> None:
    booked = PersonFields("Bill", "García", date(1990, 4, 2), "M", "123 N Broad St", None, None)
    record = PersonFields("William", "Garcia", date(1990, 2, 4), "M", None, None, "2155551234")
    result = compare_persons(booked, record)
    assert result.gamma == (
        NameLevel.NICKNAME,
        NameLevel.EXACT,
        DobLevel.DAY_MONTH_SWAPPED,
        SexLevel.AGREE,
        MISSING,
        MISSING,
    )


# ---------------------------------------------------------------------------------------------
# Blocking keys: each kind of booking error leaves at least one key shared


def _shared(a: frozenset[str], b: frozenset[str]) -> set[str]:
    assert a & b, f"no shared blocking key between {sorted(a)} and {sorted(b)}"
    return {key.split(":")[0] for key in a & b}


def test_blocking_keys_shape() -> None:
    keys = blocking_keys("Bill", "Smith", date(1990, 4, 2))
    wanted = {
        "D:19900402", "S:19900204", "L:SM0:1990", "F:ALM:0402", "N:ALM:SM0", "W:ALM:SM0:1990",
    }  # fmt: skip
    assert keys == wanted  # BILL is canonicalised to WILLIAM (ALM)
    assert blocking_keys(None, None, None) == frozenset()
    assert blocking_keys("Ann", "Lee", None) == {"N:AN:L"}
    assert blocking_keys("Ann", "Lee", None, dob_year=1970) == {"N:AN:L", "L:L:1970", "W:AN:L:1970"}
    assert blocking_keys("Ann", None, None, phone="(215) 555-0100 x12") == {"P:2155550100"}
    assert blocking_keys("Ann", None, None, phone="555-0100") == frozenset()  # no line
    many = [(f"Alias{c}", f"Name{c}") for c in string.ascii_uppercase]
    assert len(blocking_keys("Bill", "Smith", date(1990, 4, 2), many)) <= 6 + MAX_ALIAS_KEYS <= 9


def test_blocking_survives_each_kind_of_error() -> None:
    true = blocking_keys("William", "Garcia", date(1985, 3, 7))
    # One-digit DOB typos: in the day (surname + year survives), in the year (first + day).
    assert "L" in _shared(true, blocking_keys("William", "Garcia", date(1985, 3, 1)))
    assert "F" in _shared(true, blocking_keys("William", "Garcia", date(1986, 3, 7)))
    # Transposed digits, day/month swapped: the name pair key, and the unordered-DOB key.
    assert "N" in _shared(true, blocking_keys("William", "Garcia", date(1958, 3, 7)))
    assert {"S", "L", "N"} <= _shared(true, blocking_keys("William", "Garcia", date(1985, 7, 3)))
    # Swapped names, nickname, misspelled surname, married name: the exact DOB.
    assert {"D", "N"} <= _shared(true, blocking_keys("Garcia", "William", date(1985, 3, 7)))
    assert {"D", "L", "F", "N"} <= _shared(true, blocking_keys("Bill", "Garcia", date(1985, 3, 7)))
    assert "D" in _shared(true, blocking_keys("William", "Garsia", date(1985, 3, 7)))
    assert {"D", "F"} <= _shared(true, blocking_keys("William", "Okafor", date(1985, 3, 7)))
    # Two errors at once: swapped names and a DOB typo; nickname and a year typo.
    assert "N" in _shared(true, blocking_keys("Garcia", "William", date(1985, 3, 8)))
    assert "N" in _shared(true, blocking_keys("Bill", "Garcia", date(1995, 3, 7)))
    # Booked under a known alias with a made-up DOB.
    record = blocking_keys("Juan", "Perez", date(1985, 3, 7), aliases=[("William", "Garcia")])
    assert "N" in _shared(record, blocking_keys("William", "Garcia", date(1979, 12, 25)))


def test_swapped_names_or_a_phone_give_the_batch_a_second_shared_key() -> None:
    # The batch dedupe scores pairs sharing two keys. Swapped first/last names with a day typo
    # share the name pair alone without W (the surname and first-name keys are of other names).
    true = blocking_keys("William", "Garcia", date(1985, 3, 7))
    assert _shared(true, blocking_keys("Garcia", "William", date(1985, 3, 9))) == {"N", "W"}
    # A placeholder surname and another DOB: only the phone is left, with the first name + ZIP.
    a = blocking_keys(
        "Ann", "Okafor", date(1985, 3, 7), address="12 Elm St 19107", phone="2155550100"
    )
    b = blocking_keys(
        "Ann", "UNKNOWN", date(1958, 7, 3), address="9 Oak St 19107", phone="215-555-0100"
    )
    assert _shared(a, b) == {"P", "Y"}


def test_unrelated_people_share_no_key() -> None:
    a = blocking_keys("William", "Garcia", date(1985, 3, 7))
    b = blocking_keys("Mary", "Okafor", date(1962, 11, 30))
    assert not a & b


_SURNAMES = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ",
    "MARTINEZ", "HERNANDEZ", "LOPEZ", "WASHINGTON", "NGUYEN", "OBRIEN", "MCDONALD", "KOWALSKI",
    "SCHMIDT", "THOMPSON", "DELACRUZ", "JACKSON", "RIVERA",
)  # fmt: skip
_NICKNAMED = sorted({name for names in NICKNAMES.values() for name in names})
_NICKNAMES_OF = {c: sorted(n for n, names in NICKNAMES.items() if c in names) for c in _NICKNAMED}
_LETTERS = st.text(string.ascii_uppercase, min_size=2, max_size=10)


def _valid(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _dob_variants(dob: date, kind: str) -> list[date]:
    digits = dob.isoformat().replace("-", "")
    if kind == "one digit":
        candidates = [digits[:i] + d + digits[i + 1 :] for i in range(8) for d in "0123456789"]
    elif kind == "transposed":
        candidates = [digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :] for i in range(7)]
    else:  # day and month swapped
        candidates = [digits[:4] + digits[6:] + digits[4:6]]
    return [d for d in map(_valid, candidates) if d is not None and d != dob]


Person = tuple[str, str, date]
Corruption = Callable[[st.DataObject, Person], Person | None]


def _dob_error(kind: str) -> Corruption:
    def corrupt(data: st.DataObject, person: Person) -> Person | None:
        variants = _dob_variants(person[2], kind)
        return (person[0], person[1], data.draw(st.sampled_from(variants))) if variants else None

    return corrupt


def _nickname(data: st.DataObject, person: Person) -> Person | None:
    nicks = _NICKNAMES_OF.get(person[0])
    return (data.draw(st.sampled_from(nicks)), person[1], person[2]) if nicks else None


def _misspelled_last(data: st.DataObject, person: Person) -> Person:
    last = person[1]
    i = data.draw(st.integers(0, len(last) - 1))
    return person[0], last[:i] + data.draw(st.sampled_from("AEIOUSZ")) + last[i + 1 :], person[2]


_CORRUPTIONS: dict[str, Corruption] = {
    "one-digit DOB typo": _dob_error("one digit"),
    "transposed DOB digits": _dob_error("transposed"),
    "day/month swapped": _dob_error("swap"),
    "swapped names": lambda data, p: (p[1], p[0], p[2]),
    "nickname": _nickname,
    "misspelled surname": _misspelled_last,
}


@PROPERTY
@given(
    first=st.one_of(st.sampled_from(_NICKNAMED), _LETTERS),
    last=st.one_of(st.sampled_from(_SURNAMES), _LETTERS),
    dob=st.dates(date(1930, 1, 1), date(2010, 12, 31)),
    kind=st.sampled_from(sorted(_CORRUPTIONS)),
    data=st.data(),
)
def test_one_booking_error_keeps_a_shared_blocking_key(
    first: str, last: str, dob: date, kind: str, data: st.DataObject
) -> None:
    person = (first, last, dob)
    booked = _CORRUPTIONS[kind](data, person)
    if booked is None:  # this corruption does not apply to this person (e.g. no nickname)
        return
    # A placeholder ("UNKNOWN", "DOE") is a name not known: it blocks on nothing, by design.
    assume(not any(is_placeholder_name(n) for n in (*person[:2], *booked[:2])))
    true_keys, booked_keys = blocking_keys(*person), blocking_keys(*booked)
    assert len(true_keys) <= 9 and len(booked_keys) <= 9
    _shared(true_keys, booked_keys)
    # The comparators see the same error for what it is. A 1 January date is the placeholder for
    # "day and month unknown", so on either side the dates compare by year alone.
    dob_kind = "DOB" in kind or kind == "day/month swapped"
    if dob_kind and (year_only(dob) is not None or year_only(booked[2]) is not None):
        same_year = dob.year == booked[2].year
        expected = DobLevel.SAME_YEAR if same_year else DobLevel.DISAGREE
        assert compare_dob(dob, booked[2]).level == expected
        return
    if kind == "one-digit DOB typo":
        assert compare_dob(dob, booked[2]).level >= DobLevel.ONE_DIGIT
    elif kind == "transposed DOB digits":
        assert compare_dob(dob, booked[2]).level >= DobLevel.TRANSPOSED
    elif kind == "day/month swapped":
        assert compare_dob(dob, booked[2]).level == DobLevel.DAY_MONTH_SWAPPED
    elif kind == "nickname":
        assert compare_names(*booked[:2], first, last).first == NameLevel.NICKNAME
    elif kind == "swapped names" and first != last:
        names = compare_names(*booked[:2], first, last)
        assert (names.first, names.last) == (NameLevel.SWAPPED, NameLevel.SWAPPED)
