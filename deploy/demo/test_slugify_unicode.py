from slugify import slugify


def test_accents_are_transliterated():
    # The tool drops accented letters instead of transliterating them: this fails.
    assert slugify("Crème brûlée") == "creme-brulee"


def test_numbers_are_kept():
    assert slugify("Top 10 tools") == "top-10-tools"
