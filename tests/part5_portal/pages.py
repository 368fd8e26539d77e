"""Reading the portal's pages as a screen reader would find things: by label, role and name."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup, Tag


def page(response: Any) -> BeautifulSoup:
    """The response's HTML, parsed."""
    return BeautifulSoup(response.content.decode(), "html.parser")


def text(element: Tag) -> str:
    """An element's text with its white space collapsed."""
    return " ".join(element.get_text(" ").split())


def labelled(soup: BeautifulSoup, label: str) -> Tag:
    """The form control whose ``<label>`` reads ``label``."""
    [found] = [tag for tag in soup.find_all("label") if text(tag) == label]
    control = soup.find(id=found["for"])
    assert isinstance(control, Tag), f"label {label!r} names no control"
    return control


def button(soup: BeautifulSoup, name: str) -> Tag:
    """The one button whose accessible name is ``name``."""
    [found] = [tag for tag in soup.find_all("button") if text(tag) == name]
    return found


def table_rows(soup: BeautifulSoup, selector: str) -> list[list[str]]:
    """The text of each cell of each body row of the table ``selector`` names."""
    table = soup.select_one(selector)
    assert table is not None
    return [
        [text(cell) for cell in row.find_all(["td", "th"])] for row in table.tbody.find_all("tr")
    ]
