from slugify import slugify


def test_simple_title():
    assert slugify("Hello World") == "hello-world"


def test_punctuation_is_dropped():
    assert slugify("C'est la vie!") == "c-est-la-vie"


def test_empty_title():
    assert slugify("") == ""
