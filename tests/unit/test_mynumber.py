import random

import pytest
from stdnum.jp import in_

from kofu.base.mynumber import check_digit, has_valid_check_digit, keyed_hash


def test_domain_worked_example():
    # DOMAIN.md: 98320567321 -> sum 238 -> 238 mod 11 = 7 -> check digit 4.
    assert check_digit("98320567321") == 4
    assert has_valid_check_digit("983205673214")
    assert not has_valid_check_digit("983205673215")


def test_agrees_with_python_stdnum_on_random_numbers():
    rng = random.Random(5)
    for _ in range(2000):
        body = f"{rng.randrange(10**11):011d}"
        number = body + str(check_digit(body))
        assert in_.is_valid(number)
        wrong = body + str((check_digit(body) + rng.randrange(1, 10)) % 10)
        assert has_valid_check_digit(wrong) == in_.is_valid(wrong) is False


@pytest.mark.parametrize(
    "bad", ["", "12345678901", "１２３４５６７８９０１２", "98320567321a", "9832056732140"]
)
def test_malformed_numbers_are_not_valid(bad):
    assert not has_valid_check_digit(bad)


def test_keyed_hash_depends_on_key_and_hides_number():
    a = keyed_hash("983205673214", b"k1" * 16)
    assert a == keyed_hash("983205673214", b"k1" * 16)
    assert a != keyed_hash("983205673214", b"k2" * 16)
    assert "983205673214" not in a and len(a) == 64
