"""The charge catalogue: citation parsing, the shipped Pennsylvania data, lookup and search."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from pars.domain.catalogue import ChargeCatalogue, Citation, Offense, parse_citation
from pars.domain.grades import Grade

HEADER = "title,section,subsection,description,default_grade\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18 § 2701 §§ A1", Citation("18", "2701", "A1")),
        ("18 2701 A1", Citation("18", "2701", "A1")),
        ("18 Pa.C.S. § 2701(a)(1)", Citation("18", "2701", "A1")),
        ("18 Pa.C.S.A. 2701(a)(1)", Citation("18", "2701", "A1")),
        ("18 pa.c.s.a. § 2701 (a) (1)", Citation("18", "2701", "A1")),
        ("18 PA. C.S. 2701(A)(1)", Citation("18", "2701", "A1")),
        ("18-2701-A1", Citation("18", "2701", "A1")),
        ("18-2701-a1", Citation("18", "2701", "A1")),
        ("  18   §   2701   §§   a1  ", Citation("18", "2701", "A1")),
        ("35 § 780-113 §§ A30", Citation("35", "780-113", "A30")),
        ("35 P.S. § 780-113(a)(30)", Citation("35", "780-113", "A30")),
        ("35 p.s. 780-113(a)(16)", Citation("35", "780-113", "A16")),
        ("35-780-113-A30", Citation("35", "780-113", "A30")),
        ("35-780-113", Citation("35", "780-113", "")),
        ("75 3802 A1", Citation("75", "3802", "A1")),
        ("75 Pa.C.S. 3802(a)(1)", Citation("75", "3802", "A1")),
        ("75 Pa.C.S. § 3802(d)(1)(ii)", Citation("75", "3802", "D1II")),
        ("18 Pa.C.S. § 3701(a)(1)(i)", Citation("18", "3701", "A1I")),
        ("18 3701 a1iv", Citation("18", "3701", "A1IV")),
        ("18 § 6108", Citation("18", "6108", "")),
        ("18-6108", Citation("18", "6108", "")),
        ("18 6108", Citation("18", "6108", "")),
        ("18 § 2709.1 §§ A1", Citation("18", "2709.1", "A1")),
        ("18 Pa.C.S. § 2709.1(a)(1)", Citation("18", "2709.1", "A1")),
        ("18-2709.1-A1", Citation("18", "2709.1", "A1")),
        ("18-4910-1", Citation("18", "4910", "1")),
        ("18 4910(1)", Citation("18", "4910", "1")),
    ],
)
def test_parse_citation_forms(text: str, expected: Citation) -> None:
    assert parse_citation(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "hello",
        "18",
        "18 §",
        "§§ A1",
        "2701 A1",
        "123 2701 A1",
        "18 § 2701 §§",
        "18 2701 A1 extra",
        "18 2701-A1",
        "18-2701-",
        "18-2701 A1",
        "18 2701 (a)(1",
        "18 2701 A1" + " " * 95,
        "1" * 101,
    ],
)
def test_parse_citation_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"citation"):
        parse_citation(text)


def test_parse_citation_error_is_readable() -> None:
    with pytest.raises(ValueError, match=r"^not a statute citation: .*'18 § 2701 §§ A1'"):
        parse_citation("hello")
    with pytest.raises(ValueError, match=r"at most 100 characters"):
        parse_citation("18 2701 " + "A" * 100)


def test_citation_display_and_key() -> None:
    assert str(Citation("18", "2701", "A1")) == "18 § 2701 §§ A1"
    assert str(Citation("18", "6108", "")) == "18 § 6108"
    assert Citation("18", "2701", "A1").key == "18-2701-A1"
    assert Citation("18", "6108", "").key == "18-6108"
    assert Citation("35", "780-113", "A30").key == "35-780-113-A30"


@pytest.mark.parametrize(
    "citation",
    [
        Citation("18", "2701", "A1"),
        Citation("18", "6108", ""),
        Citation("35", "780-113", "A30"),
        Citation("35", "780-113", ""),
        Citation("18", "2709.1", "A2"),
        Citation("18", "4910", "1"),
        Citation("75", "3802", "D1III"),
    ],
)
def test_display_and_key_round_trip(citation: Citation) -> None:
    assert parse_citation(str(citation)) == citation
    assert parse_citation(citation.key) == citation


def test_citation_rejects_unnormalized_parts() -> None:
    with pytest.raises(ValueError, match="subsection"):
        Citation("18", "2701", "a1")
    with pytest.raises(ValueError, match="citation"):
        Citation("Title 18", "2701", "A1")


# The shipped catalogue.


@pytest.fixture(scope="module")
def catalogue() -> ChargeCatalogue:
    return ChargeCatalogue.default()


def test_default_catalogue_is_large_and_cached(catalogue: ChargeCatalogue) -> None:
    assert len(catalogue) >= 170
    assert ChargeCatalogue.default() is catalogue
    assert len(list(catalogue)) == len(catalogue)


def test_shipped_csv_is_clean() -> None:
    text = resources.files("pars.data.charges").joinpath("pa.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["title", "section", "subsection", "description", "default_grade"]
    body = rows[1:]
    assert len(body) >= 170
    assert all(len(r) == 5 for r in body)
    keys = [(r[0], r[1], r[2]) for r in body]
    assert len(keys) == len(set(keys))
    assert {r[4] for r in body} <= {g.value for g in Grade}
    assert all(r[3].strip() == r[3] and r[3] for r in body)
    assert all(parse_citation(" ".join(filter(None, r[:3]))).subsection == r[2] for r in body)


def test_every_shipped_offense_is_well_formed(catalogue: ChargeCatalogue) -> None:
    for offense in catalogue:
        assert isinstance(offense.default_grade, Grade)
        assert offense.description
        assert parse_citation(offense.citation.key) == offense.citation
        assert catalogue.get(str(offense.citation)) is offense


def test_catalogue_covers_the_three_titles(catalogue: ChargeCatalogue) -> None:
    titles = {o.citation.title for o in catalogue}
    assert {"18", "35", "75"} <= titles


@pytest.mark.parametrize(
    ("citation", "grade", "words"),
    [
        ("18 2502 A", Grade.H1, "murder of the first degree"),
        ("18 2502 B", Grade.H2, "murder of the second degree"),
        ("18 2502 C", Grade.H3, "murder of the third degree"),
        ("18 2701 A1", Grade.M2, "simple assault"),
        ("18 2702 A1", Grade.F1, "aggravated assault"),
        ("18 2702 A4", Grade.F2, "deadly weapon"),
        ("18 2705", Grade.M2, "recklessly endangering"),
        ("18 2706 A1", Grade.M1, "terroristic threats"),
        ("18 2709 A1", Grade.S, "harassment"),
        ("18 3502 A1", Grade.F1, "burglary"),
        ("18 3502 A4", Grade.F2, "burglary"),
        ("18 3503 A1II", Grade.F2, "criminal trespass"),
        ("18 3701 A1I", Grade.F1, "robbery"),
        ("18 3701 A1V", Grade.F3, "robbery"),
        ("18 3921 A", Grade.M1, "theft by unlawful taking"),
        ("18 3925 A", Grade.M1, "receiving stolen property"),
        ("18 3928 A", Grade.M2, "unauthorized use"),
        ("18 5104", Grade.M2, "resisting arrest"),
        ("18 5503 A1", Grade.M3, "disorderly conduct"),
        ("18 6105 A1", Grade.F2, "firearms"),
        ("18 6106 A1", Grade.F3, "without a license"),
        ("18 6108", Grade.M1, "philadelphia"),
        ("18 907 A", Grade.M1, "instruments of crime"),
        ("35 780-113 A16", Grade.M3, "possessing a controlled"),
        ("35 780-113 A30", Grade.F2, "intent to manufacture or deliver"),
        ("35 780-113 A32", Grade.M3, "paraphernalia"),
        ("75 3802 A1", Grade.M1, "dui"),
        ("75 3802 C", Grade.M1, "highest rate"),
        ("75 1543 A", Grade.S, "suspended"),
        ("75 3732 A", Grade.F3, "homicide by vehicle"),
        ("75 3733 A", Grade.M2, "fleeing"),
        ("75 3742 A", Grade.M1, "accidents involving death"),
    ],
)
def test_known_rows(catalogue: ChargeCatalogue, citation: str, grade: Grade, words: str) -> None:
    offense = catalogue.get(citation)
    assert offense is not None
    assert offense.default_grade is grade
    assert words in offense.description.lower()


@pytest.mark.parametrize(
    "form",
    [
        "18 § 2701 §§ A1",
        "18 2701 A1",
        "18 Pa.C.S. § 2701(a)(1)",
        "18 Pa.C.S.A. 2701(a)(1)",
        "18-2701-A1",
        "18 pa.c.s. 2701 (A)(1)",
    ],
)
def test_lookup_by_any_form(catalogue: ChargeCatalogue, form: str) -> None:
    offense = catalogue.get(form)
    assert offense is not None
    assert offense.citation == Citation("18", "2701", "A1")
    assert form in catalogue


@pytest.mark.parametrize(
    "form",
    ["35 § 780-113 §§ A30", "35 P.S. § 780-113(a)(30)", "35-780-113-A30", "35 780-113 a30"],
)
def test_lookup_hyphenated_section(catalogue: ChargeCatalogue, form: str) -> None:
    offense = catalogue.get(form)
    assert offense is not None
    assert offense.citation.key == "35-780-113-A30"


def test_lookup_misses(catalogue: ChargeCatalogue) -> None:
    assert catalogue.get("hello") is None
    assert catalogue.get("") is None
    assert catalogue.get("18 9999 A1") is None
    assert catalogue.get(Citation("18", "2701", "A9")) is None
    assert catalogue.get("18 2701") is None, "a section alone is not one of its subsections"
    assert "hello" not in catalogue
    assert 2701 not in catalogue
    assert Citation("18", "6108", "") in catalogue


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("simple assault", "18-2701-A1"),
        ("Simple ASSAULT", "18-2701-A1"),
        ("dui", "75-3802-A1"),
        ("DUI highest", "75-3802-C"),
        ("retail theft", "18-3929-A1"),
        ("firearm", "18-6106-A1"),
        ("firearms philadelphia", "18-6108"),
        ("paraphernalia", "35-780-113-A32"),
        ("18 2701 A1", "18-2701-A1"),
        ("18 Pa.C.S. § 6108", "18-6108"),
        ("780-113", "35-780-113-A12"),
    ],
)
def test_search_ranks_expected_first(catalogue: ChargeCatalogue, query: str, first: str) -> None:
    results = catalogue.search(query)
    assert results
    assert results[0].citation.key == first


def test_search_requires_every_word(catalogue: ChargeCatalogue) -> None:
    results = catalogue.search("assault aggravated")
    assert results
    assert all("aggravated" in o.description.lower() for o in results)
    assert all("assault" in o.description.lower() for o in results)
    assert catalogue.search("simple assault zebra") == []


def test_search_section_prefix_returns_subsections(catalogue: ChargeCatalogue) -> None:
    keys = [o.citation.key for o in catalogue.search("18 2701")]
    assert keys == ["18-2701-A1", "18-2701-A2", "18-2701-A3", "18-2701-A4"]


def test_search_subsection_prefix_keeps_exact_first(catalogue: ChargeCatalogue) -> None:
    keys = [o.citation.key for o in catalogue.search("75 Pa.C.S. 3802(d)(1)")]
    assert keys == ["75-3802-D1", "75-3802-D1I", "75-3802-D1II", "75-3802-D1III"]
    keys = [o.citation.key for o in catalogue.search("18 3502 A1")]
    assert keys == ["18-3502-A1", "18-3502-A1I", "18-3502-A1II"]


def test_search_prefix_compares_components_not_characters() -> None:
    small = ChargeCatalogue(
        Offense(parse_citation(c), "Drug offense", Grade.M3)
        for c in ["35 780-113 A16", "35 780-113 A1I", "35 780-113 A1", "35 780-113 B"]
    )
    keys = [o.citation.key for o in small.search("35 P.S. 780-113(a)(1)")]
    assert keys == ["35-780-113-A1", "35-780-113-A1I"]


def test_search_limit_and_empty(catalogue: ChargeCatalogue) -> None:
    assert len(catalogue.search("assault", limit=3)) == 3
    assert catalogue.search("assault", limit=0) == []
    assert catalogue.search("") == []
    assert catalogue.search("   ") == []


def test_constructor_rejects_duplicates() -> None:
    offense = Offense(Citation("18", "2701", "A1"), "Simple Assault", Grade.M2)
    with pytest.raises(ValueError, match="duplicate"):
        ChargeCatalogue([offense, offense])


# Loading a CSV.


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "charges.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_from_csv_loads_and_normalizes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "18,2701,(a)(1),Simple Assault,m2\n18,6108,,Carrying Firearms in Philadelphia,M1\n",
    )
    catalogue = ChargeCatalogue.from_csv(path)
    assert len(catalogue) == 2
    offense = catalogue.get("18-2701-A1")
    assert offense == Offense(Citation("18", "2701", "A1"), "Simple Assault", Grade.M2)
    assert ChargeCatalogue.from_csv(str(path)).get("18 § 6108") is not None


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("18,2701,A1,Simple Assault,M2\n18,2702,A1,Aggravated Assault,F4\n", 3, "unknown grade"),
        ("18,2701,A1,Simple Assault,M2\nxx,2701,A2,Simple Assault,M2\n", 3, "bad citation"),
        ("18,27x1,A1,Simple Assault,M2\n", 2, "bad citation"),
        ("18,2701,A-1,Simple Assault,M2\n", 2, "bad subsection"),
        ("18,2701,A1,Simple Assault,M2\n18,2701,a1,Again,M2\n", 3, "duplicate citation"),
        ("18,2701,A1,Simple Assault,M2\n18,2702,A1,Aggravated Assault\n", 3, "columns"),
        ("18,2701,A1,Simple Assault,M2,extra\n", 2, "columns"),
        ("18,2701,A1,,M2\n", 2, "empty description"),
    ],
)
def test_from_csv_errors_name_file_and_line(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = _write(tmp_path, HEADER + body)
    with pytest.raises(ValueError, match=message) as info:
        ChargeCatalogue.from_csv(path)
    assert str(path) in str(info.value)
    assert f"line {line}:" in str(info.value)


def test_from_csv_duplicate_names_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "18,2701,A1,A,M2\n18,2702,A1,B,F1\n18,2701,A1,C,M2\n")
    with pytest.raises(
        ValueError, match=r"line 4: duplicate citation 18 § 2701 §§ A1 \(first on line 2\)"
    ):
        ChargeCatalogue.from_csv(path)


def test_from_csv_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "title,section,subsection,description\n18,2701,A1,Simple Assault\n")
    with pytest.raises(ValueError, match=r"line 1: missing column\(s\): default_grade"):
        ChargeCatalogue.from_csv(path)


def test_from_csv_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 1: missing column"):
        ChargeCatalogue.from_csv(_write(tmp_path, ""))
