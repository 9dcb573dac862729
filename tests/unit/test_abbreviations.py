"""Shortened words read as the beginnings of two words a document writes side by side."""

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


def test_a_word_is_spelled_out_by_two_words_it_begins_side_by_side() -> None:
    text = "Paiement : Visa, Mastercard, American Express, Mobile Money (MTN) et espèces."
    assert spelled_out("amex", text) == "american express"
    assert spelled_out("momo", text) == "mobile money"
    # the words must go on past their pieces, and be apart from each other only by a space or a dash
    assert spelled_out("amex", "Paiement : am ex") is None
    assert spelled_out("amex", "American, Express") is None
    assert spelled_out("viex", "Vieux-Extrait") == "vieux extrait"
    # a stop word is never half of a spelled-out word
    assert spelled_out("suca", "sucre candi") == "sucre candi"
    assert spelled_out("suca", "sur carottes") is None
