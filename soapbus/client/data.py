"""Profile documents as plain Python data (dicts, lists, strings), for callers who want no XML."""
from __future__ import annotations

from lxml import etree


def to_data(element: etree._Element):
    """Children become keys (repeated ones lists), attributes `@name`, text `#text` where mixed."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children and not element.attrib:
        return (element.text or "").strip()
    data: dict = {f"@{etree.QName(k).localname}": v for k, v in element.attrib.items()}
    text = (element.text or "").strip()
    if text:
        data["#text"] = text
    for child in children:
        name = etree.QName(child).localname
        value = to_data(child)
        if name in data:
            if not isinstance(data[name], list):
                data[name] = [data[name]]
            data[name].append(value)
        else:
            data[name] = value
    return data
