"""Registration exports as the tools write them are read; a file with a problem is refused in one line."""

from __future__ import annotations

import pytest

from pizza_agent.people.roster_csv import RosterFileError, read_roster


def names(data: bytes, **mapping: str) -> list[str]:
    return [r.display_name for r in read_roster(data, mapping).registrants]


def test_luma_eventbrite_devpost_and_form_headers_are_recognised():
    luma = (
        b"api_id,name,first_name,last_name,email,approval_status\ngst-1,Ada Lovelace,Ada,Lovelace,ada@x.io,approved\n"
    )
    eventbrite = (
        b"Order #,Order Date,First Name,Last Name,Email,Ticket Type,Attendee #\n9,2027-01-02,Alan,Turing,a@t.uk,GA,77\n"
    )
    devpost = b"First Name,Last Name,Email,Team\nGrace,Hopper,grace@navy.mil,Cobol\n"
    form = b"Timestamp,Your name,Email address\n2027-01-01 10:00,Katherine Johnson,kj@nasa.gov\n"
    assert names(luma) == ["Ada L."]
    assert names(eventbrite) == ["Alan T."]
    assert read_roster(eventbrite).registrants[0].identity == "id:77"  # the attendee #, not the order
    assert names(devpost) == ["Grace H."]
    assert names(form) == ["Katherine J."]


def test_bom_semicolons_quoted_newlines_and_repeated_rows_are_read_as_meant():
    data = (
        '\ufeffName;E-Mail;Notes\nZoë Müller;zoe@x.de;"allergic to\nnuts"\nBob Ross;bob@x.com;\nBob Ross;bob@x.com;\n'
    ).encode()
    roster = read_roster(data)
    assert [r.display_name for r in roster.registrants] == ["Zoë M.", "Bob R."]
    assert roster.merged_duplicates == 1
    assert roster.columns == {"name": "Name", "email": "E-Mail"}


def test_ten_thousand_rows_are_read():
    rows = "".join(f"Person {i},p{i}@example.org\n" for i in range(10_000))
    assert len(read_roster(f"name,email\n{rows}".encode()).registrants) == 10_000


def test_map_names_a_column_the_tools_do_not_use():
    data = b"Hacker,Badge\nLin Wei,B-17\n"
    roster = read_roster(data, {"Hacker": "name", "Badge": "id"})
    assert roster.registrants[0].identity == "id:B-17"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("name,email\nJosé Pérez,j@x.es\n".encode("latin-1"), "line 2: not UTF-8"),
        (b'name,email\nAda,"ada@x.io\nBob,bob@x.io\n', "line 3:"),
        (b"name,email\nAda,ada@x.io,extra\n", "line 2: 3 fields where the header has 2"),
        (b"email,ticket\nada@x.io,1\n", "line 1: no name column"),
        (b"name,email\nAda Lovelace,ada@x.io\nAda Byron,ada@x.io\n", "line 3: the same id or e-mail as line 2"),
        (b"name,email\n,nobody@x.io\n", "line 2: no name"),
        (b"", "the file is empty"),
        (b"name,email\n", "no attendee"),
        (b"name,email\nAda\x00,a@x\n", "a NUL byte"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_naming_where(data, says):
    with pytest.raises(RosterFileError) as refused:
        read_roster(data)
    message = str(refused.value)
    assert says in message and "\n" not in message
