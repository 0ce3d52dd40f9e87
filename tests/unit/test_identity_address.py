"""Addresses in identity resolution: the forms a ZIP is written in, structured and text
addresses giving the same keys and levels, and the street similarity level."""

from __future__ import annotations

from datetime import date

import pytest

from pars.identity.blocking import blocking_keys
from pars.identity.compare import AddressLevel, compare_address, street_similarity
from pars.identity.model import DEFAULT_MODEL, MatchModel
from pars.identity.normalize import Address, parse_address

AL = AddressLevel


@pytest.mark.parametrize(
    ("text", "house", "street", "unit", "zip_code"),
    [
        ("123 North Broad Street, Apt. #3-B, Philadelphia, PA 19107-1234",
         "123", "N BROAD ST", "APT 3B", "19107"),
        ("123 N Broad St Philadelphia PA 191071234", "123", "N BROAD ST", "", "19107"),
        ("8 stanley street, miami, winston hills 4223", "8", "STANLEY ST", "", "04223"),
        ("12 Banks St, 19107 Philadelphia PA", "12", "BANKS ST", "", "19107"),
        ("12 Banks St, 19107-1234 Philadelphia", "12", "BANKS ST", "", "19107"),
        ("12 Broadway Philadelphia PA", "12", "BROADWAY", "", ""),
        ("12 banks xtreet apt 4 philadelphia pa 19107", "12", "BANKS XTREET", "APT 4", "19107"),
        ("Broad and Girard, 19121", "", "BROAD AND GIRARD", "", "19121"),
    ],
)  # fmt: skip
def test_parse_address_forms(text: str, house: str, street: str, unit: str, zip_code: str) -> None:
    parts = parse_address(text)
    assert parts is not None
    assert tuple(parts) == (house, street, unit, zip_code)


def test_a_lone_number_is_not_a_zip() -> None:
    parts = parse_address("1234")
    assert parts is not None and parts.zip_code == "" and parts.house == "1234"


STRUCTURED = Address("12 Banks Street", "Apt 3", "Philadelphia", "PA", "19107-1234")
TEXT = "12 Banks St Apt 3, Philadelphia, PA 19107"


def test_structured_and_text_give_the_same_parts_keys_and_levels() -> None:
    assert parse_address(STRUCTURED) == parse_address(TEXT)
    assert parse_address(Address(street="12 Banks St", unit="#3", zip="19107")) == parse_address(
        TEXT
    )
    dob = date(1990, 4, 2)
    keys_s = blocking_keys("Ann", "Lee", dob, address=STRUCTURED)
    keys_t = blocking_keys("Ann", "Lee", dob, address=TEXT)
    assert keys_s == keys_t and "A:19107:12" in keys_s
    other = "12 Banks Street, Apt 3, Philadelphia PA 19107"
    assert compare_address(STRUCTURED, other) == compare_address(TEXT, other)
    assert compare_address(STRUCTURED, TEXT).level == AL.EXACT


def test_four_digit_postcodes_and_zip_before_the_city_make_zip_keys() -> None:
    for address in ("12 Banks St, Kingston 2604", "12 Banks St, 2604 Kingston"):
        keys = blocking_keys("Ann", "Lee", None, address=address)
        assert {"A:02604:12", "Z:02604:L"} <= keys, address


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("12 banks xtreet 19107", "12 banks street 19107", AL.SIMILAR_STREET),
        ("12 banks xtreet", "12 banks street", AL.SIMILAR_STREET),
        ("12 Spruce St", "12 Spring St", AL.SIMILAR_STREET),
        ("12 Chestnut St", "12 Chesnut St", AL.SAME_STREET),
        ("14 banks xtreet 19107", "12 banks street 19107", AL.SAME_ZIP),  # another house
        ("12 Market St", "12 Maple St", AL.DISAGREE),
        ("12 banks xtreet 19107", "12 banks street 19130", AL.DISAGREE),  # another ZIP
    ],
)
def test_street_similarity_levels(a: str, b: str, level: AddressLevel) -> None:
    assert compare_address(a, b).level == level


def test_street_similarity_reads_the_name_without_type_and_direction() -> None:
    assert street_similarity("N BROAD ST", "BROAD AVE") > street_similarity("NBROADST", "BROADAVE")
    assert street_similarity("MARKET ST", "MARKET ST") == 1.0


def test_the_model_weighs_the_new_level_and_upgrades_stored_models() -> None:
    weights = DEFAULT_MODEL.level_weights()["address"]
    assert 0 < weights["SIMILAR_STREET"] < weights["SAME_STREET"]
    old = DEFAULT_MODEL.to_json()
    for table in ("m", "u"):
        del old[table]["address"][AL.SIMILAR_STREET]  # as stored before the level existed
    upgraded = MatchModel.from_json(old)
    assert len(upgraded.m["address"]) == len(AL) - 1
    assert upgraded.level_weights()["address"]["SIMILAR_STREET"] > 0
    assert abs(sum(upgraded.m["address"]) - 1) < 1e-9
