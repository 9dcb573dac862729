"""Shortened names read as the beginnings of two capitalised words a document writes side by side."""

from __future__ import annotations

from comptoir.retrieval.abbreviations import candidates, spelled_out, splits


def test_the_words_tried_are_plain_words_of_four_letters_or_more_and_no_stop_words() -> None:
    assert candidates("Vous prenez l'Amex ou la CB ? 2 fois") == ["amex", "fois"]
    assert candidates("je peux payer par momo, momo ?") == ["payer", "momo"]
    assert candidates("Wi-Fi 4G") == []


def test_a_word_is_cut_in_two_pieces_of_at_least_two_letters() -> None:
    assert splits("amex") == [("am", "ex")]
    assert splits("momox") == [("mo", "mox"), ("mom", "ox")]
    assert splits("abc") == []


def test_a_word_is_spelled_out_by_two_names_it_begins_side_by_side() -> None:
    text = "Paiement : Visa, Mastercard, American Express, Mobile Money (MTN) et espèces."
    assert spelled_out("amex", [text]) == "american express"
    assert spelled_out("momo", [text]) == "mobile money"
    # the words must go on past their pieces, and be apart only by a space, a dash or an apostrophe
    assert spelled_out("amex", ["Paiement : Am Ex"]) is None
    assert spelled_out("amex", ["American, Express"]) is None
    assert spelled_out("viex", ["Vieux-Extrait"]) == "vieux extrait"
    assert spelled_out("velo", ["Vente\nLocation"]) is None  # a heading and the line under it
    # names only: both words start with a capital, so a common phrase is never read as a shortened word
    assert spelled_out("velo", ["Toute la vente locale est en circuit court."]) is None
    assert spelled_out("velo", ["Vente locale : le samedi."]) is None
    assert spelled_out("velo", ["Vente Locale : le samedi."]) == "vente locale"
    # a stop word is never half of a spelled-out name
    assert spelled_out("suca", ["Sucre Candi"]) == "sucre candi"
    assert spelled_out("suca", ["Sur Carottes"]) is None


def test_the_pair_written_most_often_is_the_expansion() -> None:
    texts = ["Mobile Money accepté.", "Moto Mobile : 2 000 F.", "Mobile Money, Visa."]
    assert spelled_out("momo", texts) == "mobile money"
    texts = ["Moto Mobile : 2 000 F.", "Mobile Money accepté.", "Moto Mobile, casque fourni."]
    assert spelled_out("momo", texts) == "moto mobile"  # more often, though later in alphabetical order
    assert spelled_out("momo", ["Moto Mobile", "Mobile Money"]) == "mobile money"  # a tie: alphabetical
