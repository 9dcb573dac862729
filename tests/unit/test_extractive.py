"""The extractive answerer on passages written here: records, prose, FAQ pairs, follow-ups."""

from __future__ import annotations

import re
import uuid

from comptoir.chat.extractive import answer_extractively
from comptoir.chat.readable import narrow, readable
from comptoir.chat.smalltalk import kind_of, reply
from comptoir.retrieval.search import SearchHit
from comptoir.text import language_of_text, prefix_match, tokens


def hit(
    text: str, *, title: str = "tarifs.csv", lexical: int | None = 1, similarity: float = 0.5
) -> SearchHit:
    """A passage of the document ``title`` (one id per title, as in the database)."""
    return SearchHit(uuid.uuid5(uuid.NAMESPACE_URL, title), title, text, 0.03, 1, lexical, similarity)


def test_the_record_with_the_asked_size_wins_and_is_quoted_alone_with_its_source() -> None:
    hits = [
        hit("Gants de jardin — taille : M ; prix : 6,50 €"),
        hit("Gants de jardin — taille : XL ; prix : 7,90 €"),
        hit("Gants de jardin — taille : S ; prix : 5,90 €"),
    ]
    answer = answer_extractively("gants de jardin taille xl c'est combien ?", hits, language="fr")
    assert answer.text == "Gants de jardin, taille XL : 7,90 € (source : tarifs.csv)"
    assert [h.text for h in answer.used] == [hits[1].text]


def test_every_number_of_an_answer_is_in_a_cited_source() -> None:
    hits = [hit("Vélo enfant 16 pouces : 129 €"), hit("Casque enfant : 25 €", title="accessoires.md")]
    answer = answer_extractively("prix vélo enfant 16 pouces", hits, language="fr")
    cited = " ".join(h.text for h in answer.used)
    assert all(number in cited for number in re.findall(r"\d+", answer.text))


def test_a_record_reads_as_a_sentence_name_and_qualifiers_then_amounts_then_notes() -> None:
    assert readable("Pull, Laine Douce — taille : M ; prix : 59 €") == "Pull, Laine Douce, taille M : 59 €"
    assert (
        readable("Pneu 185/65 — neuf : 38 500 ; occasion : 17 500")
        == "Pneu 185/65 : neuf 38 500, occasion 17 500"
    )
    assert readable("Vin rouge — Prix carton de 6 : 79,00 € ; Note : à boire dans les cinq ans") == (
        "Vin rouge : prix carton de 6 : 79,00 € (note : à boire dans les cinq ans)"
    )
    assert readable("Coupe homme : 24 €") == "Coupe homme : 24 €"


def test_a_labelled_record_is_narrowed_to_the_values_the_question_names() -> None:
    line = "Bol de soupe — Petit : 4,50 € ; Grand : 6,90 € ; Allergènes : céleri"
    assert (
        narrow(line, tokens("le grand bol"), set()) == "Bol de soupe — Grand : 6,90 € ; Allergènes : céleri"
    )
    # a follow-up names the other size; what it continues only decides when it names none
    assert narrow(line, tokens("et le petit ?"), tokens("le grand bol")).startswith(
        "Bol de soupe — Petit : 4,50 €"
    )
    # a value in another unit is not a sibling: the weight stays with the price
    assert (
        narrow("Engrais — sac : 5 kg ; prix : 12 €", tokens("sac"), set())
        == "Engrais — sac : 5 kg ; prix : 12 €"
    )


def test_a_label_is_named_only_when_the_question_holds_all_its_words() -> None:
    line = "Pose chambre à air — vélo classique : 17 € ; VAE : 24 €"
    assert narrow(line, tokens("chambre a air velo electrique"), set()) == line
    assert narrow(line, tokens("chambre a air VAE"), set()) == "Pose chambre à air — VAE : 24 €"
    # details in brackets say more about a column; its name is enough to name it
    rental = "Vélo — ½ journée (4 h) : 20 € ; Journée (9h-19h) : 30 €"
    assert narrow(rental, tokens("louer un velo pour la journee"), set()) == "Vélo — Journée (9h-19h) : 30 €"


def test_the_fixed_wording_follows_the_customer_s_language() -> None:
    hits = [hit("Tarte aux pommes : 18 €", title="gateaux.md")]
    question = "how much is the apple pie? tarte"
    answer = answer_extractively(question, hits, language=language_of_text(question, "fr"))
    assert answer.text == "Tarte aux pommes : 18 € (source: gateaux.md)"
    assert language_of_text("How much is the large one?", "fr") == "en"
    assert language_of_text("c combien la grande ?", "en") == "fr"


def test_a_follow_up_is_answered_in_the_context_of_the_question_it_continues() -> None:
    hits = [
        hit("Plaquettes — Citadine 2010 — position : avant ; prix : 21 000 F"),
        hit("Plaquettes — Citadine 2010 — position : arrière ; prix : 17 500 F"),
        hit("Disques — Citadine 2010 — position : arrière ; prix : 30 000 F"),
    ]
    answer = answer_extractively("et l'arrière ?", hits, language="fr", context="plaquettes avant citadine")
    assert "17 500" in answer.text and "21 000" not in answer.text and "30 000" not in answer.text
    # rows the follow-up alone cannot tell apart, its context can
    lots = [
        hit("Couches, T5 — quantité : lot de 300 ; prix : 48 000 F"),
        hit("Couches, T5 — quantité : lot de 150 ; prix : 25 500 F"),
    ]
    answer = answer_extractively(
        "et en taille 5 ?", lots, language="fr", context="prix lot de 300 couches taille 4"
    )
    assert "48 000" in answer.text and "25 500" not in answer.text


def test_words_side_by_side_decide_between_near_variants() -> None:
    hits = [hit("Tapis mi-long : 45 €"), hit("Tapis long (2 m) : 60 €")]
    assert "60 €" in answer_extractively("tapis long prix", hits, language="fr").text
    assert "45 €" not in answer_extractively("tapis long prix", hits, language="fr").text


def test_an_faq_answer_is_chosen_by_its_question_and_quoted_without_it() -> None:
    hits = [
        hit(
            "FAQ\nPeut-on payer en plusieurs fois ?\nOui, en 3 fois sans frais dès 300 €.",
            title="faq.txt",
        ),
        hit("FAQ\nLivrez-vous le dimanche ?\nNon.", title="faq.txt"),
    ]
    answer = answer_extractively("je peux payer en 3 fois ?", hits, language="fr")
    assert answer.text == "Oui, en 3 fois sans frais dès 300 €. (source : faq.txt)"


def test_a_sentence_comes_with_the_next_one_when_that_one_gives_the_figure() -> None:
    hits = [hit("Infos\nNos prix sont hors taxes. La TVA de 20 % est ajoutée en caisse.", title="infos.txt")]
    answer = answer_extractively("vos prix sont hors taxes ?", hits, language="fr")
    assert "20 %" in answer.text


def test_sentences_that_answer_together_are_quoted_together() -> None:
    hits = [
        hit("Livraison\nNous livrons tous les jours sauf le mercredi, de 10h à 18h.", title="livraison.md"),
        hit("Magasin\nOuvert du jeudi au mardi de 9h à 19h. Fermé le mercredi.", title="magasin.md"),
    ]
    answer = answer_extractively("le magasin est ouvert le mercredi ?", hits, language="fr")
    assert answer.text == "Ouvert du jeudi au mardi de 9h à 19h. Fermé le mercredi. (source : magasin.md)"


def test_a_second_line_covers_what_the_first_leaves_out() -> None:
    hits = [
        hit("Livraison > Zones\nQuartier Nord, Gare : 3 000 F", title="livraison.txt"),
        hit(
            "Livraison\nObjets encombrants (frigo, matelas) : +2 000 F sur le tarif de la zone.",
            title="livraison.txt",
        ),
        hit("Livraison > Zones\nCentre : 1 000 F", title="livraison.txt"),
    ]
    answer = answer_extractively("livraison d'un frigo au quartier nord, combien ?", hits, language="fr")
    assert "3 000" in answer.text and "2 000" in answer.text and "1 000" not in answer.text


def test_a_question_about_money_is_answered_by_an_amount_not_by_a_date() -> None:
    hits = [
        hit(
            "Expéditions\nEnvois de plantes en Suisse : seulement du 1er mars au 30 novembre.",
            title="envois.txt",
        ),
        hit("Expéditions > Tarifs par pays\nSuisse, Norvège : 18,50 € par colis", title="envois.txt"),
        hit("Expéditions > Tarifs par pays\nBelgique : 9 € par colis", title="envois.txt"),
    ]
    answer = answer_extractively(
        "et en suisse ?", hits, language="fr", context="envoi en belgique, combien ?"
    )
    assert "18,50 €" in answer.text and "novembre" not in answer.text
    # an amount in the heading above the line counts ("Tarifs (FCFA)" over "Zone Est : 2 500")
    zones = [
        hit("Livraison\nPas de livraison en Zone Est les 24 et 31 décembre.", title="livraison.txt"),
        hit("Livraison > Tarifs (FCFA)\nZone Est : 2 500", title="livraison.txt"),
    ]
    answer = answer_extractively("livraison en zone est c'est combien ?", zones, language="fr")
    assert "2 500" in answer.text and "décembre" not in answer.text
    # a currency glued to its amount ("3000F"), or said in words, is money too
    for amount in ("3000F", "30 euros"):
        zones = [
            hit("Livraison\nPas de livraison en Zone Nord les 24 et 31 décembre.", title="livraison.txt"),
            hit(f"Livraison\nZone Nord : {amount}", title="livraison.txt"),
        ]
        answer = answer_extractively("livraison en zone nord c'est combien ?", zones, language="fr")
        assert amount in answer.text and "décembre" not in answer.text


def test_a_question_counting_something_else_than_money_keeps_every_figure() -> None:
    hits = [
        hit("GARANTIE ET SAV\nReconditionnés : 6 mois, pièces et main-d'œuvre.", title="sav.txt"),
        hit("Vélo de ville — état : reconditionné ; prix : 420 €", title="velos.csv"),
    ]
    answer = answer_extractively("garantie velo reconditionné c combien de mois", hits, language="fr")
    assert "6 mois" in answer.text and "420" not in answer.text


def test_extractive_says_it_does_not_know() -> None:
    unrelated = [hit("Paiement par Wave.", lexical=None, similarity=0.1)]
    assert answer_extractively("capitale de la Mongolie ?", unrelated, language="fr").text.startswith(
        "Je ne sais pas"
    )
    assert answer_extractively("opening hours?", [], language="en").text.startswith("I don't know")
    # relevant passage, but no line matches the question's words
    assert answer_extractively("Mongolie ?", [hit("Paiement par Wave.")], language="fr").used == []


def test_words_of_one_family_meet_and_lookalikes_do_not() -> None:
    assert prefix_match("livrez", "livraison") and prefix_match("envoyez", "envoi")
    assert prefix_match("ouvert", "ouverture") and prefix_match("palu", "paludisme")
    assert not prefix_match("demain", "demande") and not prefix_match("carte", "carton")
    assert not prefix_match("2024", "20245")


def test_units_and_labels_meet_their_spellings() -> None:
    assert {"5", "l"} <= tokens("bidon de 5 litres") and {"5", "l"} <= tokens("5L")
    assert {"128", "go"} <= tokens("128GB")
    assert "15e" in tokens("15e arrondissement") and "15" not in tokens("15e arrondissement")
    assert "dollar" in tokens("1 $ = 2 800 FC")


def test_greetings_thanks_and_handoff_are_recognised_and_questions_are_not() -> None:
    assert kind_of("Bonjour !") == "greeting"
    assert kind_of("bsr tout le monde 👋") == "greeting"
    assert kind_of("Merci beaucoup, bonne journée 😊") == "thanks"
    assert kind_of("je voudrais parler à quelqu'un svp") == "handoff"
    assert kind_of("Can I speak to a human?") == "handoff"
    assert kind_of("Bonjour, vous livrez à la gare ?") is None
    assert kind_of("une table pour une personne ce soir ?") is None
    assert kind_of("merci de me dire le prix du pain") is None


def test_a_handoff_reply_gives_the_contacts_and_never_invents_one() -> None:
    text = reply("handoff", company="Chez Zoé", language="fr", contacts=["WhatsApp : 07 00 00 00 01"])
    assert "07 00 00 00 01" in text
    assert not any(c.isdigit() for c in reply("handoff", company="Chez Zoé", language="fr", contacts=[]))
