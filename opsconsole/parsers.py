"""Request parsing for the API: JSON whose every string can be stored.

Kept apart from ``opsconsole.api``: DRF imports the parser named in settings
while ``rest_framework.views`` is still loading, so this module must not
import the views itself.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _storable(text):
    # Postgres text cannot hold NUL, and UTF-8 cannot hold lone surrogates
    # (which JSON's \ud800 escapes can produce); refuse both at the door.
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_strings(data, path="body"):
    """Raise ParseError naming the first string (value or key) that cannot be stored."""
    stack = [(data, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if not _storable(value):
                raise ParseError(f"{where} contains a NUL character or an unpaired surrogate.")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not _storable(key):
                    raise ParseError(f"A key in {where} contains a NUL character or an unpaired surrogate.")
                stack.append((item, f"{where}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(value))
    return data


class StrictJSONParser(JSONParser):
    """JSON whose every string can be stored as given."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json gives up on deep nesting ([[[[...) with RecursionError,
            # which DRF does not catch: without this it is a 500.
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        return check_strings(data)
