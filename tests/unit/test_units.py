import pytest

from tinyconv.errors import TinyconvError
from tinyconv.units import parse_bytes


@pytest.mark.parametrize("text,expected", [
    ("320kB", 320 * 1024), ("320KiB", 320 * 1024), ("1MB", 1024**2), ("0.5MB", 512 * 1024),
    ("327680", 327680), ("64 kB", 65536), (4096, 4096), ("2MiB", 2 * 1024**2)])
def test_sizes_parse_as_embedded_engineers_write_them(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-5kB", "1.3B", "12 parsecs", "0"])
def test_bad_sizes_are_one_clear_error(text):
    with pytest.raises(TinyconvError, match="size|bytes"):
        parse_bytes(text)
