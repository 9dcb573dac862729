"""Signals about the AI and its prompt: whom a sentence speaks to, what it names, override and reveal."""

from __future__ import annotations

from comptoir.ingest.instructions.signals import _sig, _Signal
from comptoir.ingest.instructions.vocabulary import (
    _ADVERBS,
    _AI,
    _CLAUSE_START,
    _IMPERATIVES,
    _META,
    _NEGATION_GUARD,
    _OV_PHRASE,
    _OV_SIMPLE,
    _PRIOR_BARE,
    _PRIOR_THINGS,
    _PROMPT_STRONG,
    _PROMPT_YOURS,
    _QUAL,
    _QUAL_AFTER,
    _REVEAL,
    _REVEAL_STRONG,
    _gap,
    _w,
)

_PROMPT_SIGNALS: tuple[_Signal, ...] = (
    # --- addressee
    _sig("ai_word", "addressed_to_ai", 1, f" {_AI} "),
    _sig(
        "address",
        "addressed_to_ai",
        3,
        # "note pour l'IA", "message to the chatbot", "consignes à l'attention de l'assistant"
        " "
        + _w("""
            note, notes, message, messages, memo, instruction, instructions, consigne, consignes, info,
            infos, information, rappel, remarque, avis, directive, directives, ps, nb, ordre, ordres,
            order, orders, hint, warning, request, requete, prompt, mot, word, texte, text, reminder, notice
        """)
        + " (?:"
        + _w("""
            speciale, special, importante, important, urgente, urgent, cache, cachee, hidden, secrete, secret,
            prive, privee, private, interne, internal, prioritaire, priority, confidentiel, confidentielle
        """)
        + " )?(?:"
        + _w("destine, destinee, destines, destinees, reserve, reservee, addressed, intended, meant, written")
        + " )?"
        + _w("""
            pour, a, au, aux, to, for, a l attention de, a l attention du, a l attention des,
            a l intention de, a l intention du, a l intention des, a destination de, a destination du,
            a destination des
        """)
        + " (?:"
        + _w("""
            l, le, la, les, the, any, all, every, each, tout, toute, tous, toutes, chaque, un, une, an, a,
            our, notre, votre, your, ton, ta, mon, my, cet, cette, ce, vous, toi
        """)
        + r" )?(?:\S+ )?"
        + _AI
        + " ",
        # "cher assistant", "hey chatbot", "bonjour l'IA", "toi l'IA"
        " "
        + _w(
            "dear, hey, he, eh, ohe, hi, hello, cher, chere, chers, cheres, bonjour, salut, coucou, yo, "
            "okay, toi, greetings"
        )
        + " (?:"
        + _w(
            "the, l, le, la, mon, ma, my, cher, chere, dear, petit, little, good, bon, gentil, friendly, "
            "helpful, ami, assistant"
        )
        + " )?"
        + _AI
        + " ",
        # "AI reading this", "l'IA qui lit ce texte", "any LLM processing this document"
        " "
        + _AI
        + " (?:"
        + _w("who, that, which, qui")
        + " (?:"
        + _w("is, are, will, va, vas, est, es, en train de")
        + " )?"
        + _w("""
            read, reads, reading, lit, lis, lira, liras, lire, parcourt, parcours, scan, scans, scanning,
            parse, parses, parsing, ingest, ingests, ingesting, process, processes, processing, analyse,
            analyses, analyze, analyzes, traite, traites, see, sees, voit, vois, recoit, recois, receives,
            indexe, indexent, index, indexes, indexing
        """)
        + "|"
        + _w("reading, lisant, parsing, scanning, processing, ingesting, analysing, analyzing, indexing")
        + ") "
        + _w(
            "this, these, ce, cet, cette, ces, ceci, ca, me, le present, la presente, the present, "
            "the following, mes, my"
        )
        + " ",
        # "si tu es une IA", "if you are an LLM", "if you're reading this as an AI"
        " "
        + _w("if, si, when, quand, lorsque, lorsqu")
        + " "
        + _w("you are, you re, tu es, t es, vous etes")
        + r" (?:(?:reading|processing|lisant|en train de lire) (?:this|ceci|these|ce|cette) (?:\S+ )?"
        + _w("as, en tant qu, en tant que, comme")
        + " )?(?:"
        + _w(
            "an, a, un, une, the, le, la, l, any, some, another, autre, large, big, smart, helpful, "
            "automated, automatic, automatique, virtual, virtuel"
        )
        + " ){0,2}"
        + _AI
        + " ",
        # a heading at the start: "To any AI:", "Pour l'IA :", "Aux chatbots —"
        r"\A \| "
        + _w("to, for, a, pour, aux, au, at, attention, attn, attention a, attention au, attention aux")
        + " (?:"
        + _w(
            "any, all, every, each, toutes les, tous les, les, chaque, toute, tout, the, l, le, la, an, a, "
            "un, une"
        )
        + " )?"
        + _AI
        + r" (?:\S+ )?[:|] ",
        # "ce message est destiné à l'IA", "this section is intended for the AI"
        " "
        + _w(
            "ce, cet, cette, this, the following, le present, la presente, the present, le, la, les, "
            "these, ces"
        )
        + " "
        + _w("""
            message, note, texte, text, section, paragraphe, paragraph, passage, instruction,
            instructions, consigne, consignes, ligne, lignes, line, lines, bloc, block, partie, part,
            document, contenu, content, phrase, sentence
        """)
        + " (?:"
        + _w("""
            est, is, are, sont, s, adresse, addressed, intended, meant, written, ecrit, ecrite, destine,
            destinee, destines, destinees, only, uniquement, seulement, exclusivement, exclusively, reserve,
            reservee, specially, specialement, directly, directement
        """)
        + " ){1,4}"
        + _w("a, au, aux, for, to, pour")
        + " (?:"
        + _w(
            "l, le, la, les, the, any, all, an, a, un, une, tout, toute, tous, toutes, every, each, "
            "chaque, you, toi"
        )
        + r" )?(?:\S+ )?"
        + _AI
        + " ",
        # vocative at the start, then an order: "Assistant, ignore...", "IA : à partir de maintenant..."
        r"\A \| (?:"
        + _w("l, le, la, the, cher, chere, dear, hey, he, ok, toi, mon, my, o, oh")
        + " )?"
        + _AI
        + r" [|:] (?:(?:"
        + _ADVERBS
        + " ){0,2}"
        + _IMPERATIVES
        + "|"
        + _w(
            "from now on, a partir de maintenant, desormais, dorenavant, henceforth, starting now, "
            "tu dois, you must, tu vas, you will, you are now, tu es maintenant, tu es desormais"
        )
        + ") ",
        need=_AI,
    ),
    _sig(
        "identity",
        "addressed_to_ai",
        1,
        " "
        + _w(
            "you are, you re, tu es, t es, as, en tant qu, en tant que, being, you re just, tu n es qu, "
            "you are just, you are only"
        )
        + " (?:"
        + _w("an, a, un, une, the, le, la, l")
        + r" )?(?:\S+ )?"
        + _AI
        + " ",
        need=_AI,
    ),
    # --- meta-object
    _sig(
        "system_prompt",
        "reveal_prompt",
        2,
        " "
        + _w("""
            system prompt, prompt systeme, consignes du systeme, instructions du systeme, regles du systeme,
            prompt system, prompt du systeme, pre prompt, preprompt, system message, message systeme,
            message du systeme, system instructions, instructions systeme, initial prompt, prompt initial,
            meta prompt, hidden prompt, prompt cache, developer message, message developpeur, system role
        """)
        + " ",
    ),
    _sig(
        "meta_yours",
        "override",
        1,
        " "
        + _w("tes, ton, ta, your, yours, t")
        + r" (?:\S+ )?"
        + _w("""
            regles, rules, directives, guidelines, prompt, programming, programmation, training,
            entrainement, system prompt, creators, creator, createurs, createur, developers, developpeurs,
            developpeur, concepteurs, restrictions, limitations, filters, filtres, guardrails, garde fous,
            conditioning
        """)
        + " ",
    ),
    _sig(
        "meta_prior",
        "override",
        1,
        " "
        + _w(
            "previous, prior, above, earlier, preceding, initial, original, hidden, secret, internal, "
            "system, systeme"
        )
        + " (?:"
        + _META
        + "|messages?|context|conversation) ",
        " (?:" + _META + "|messages?) " + _QUAL_AFTER + " ",
    ),
    # --- acts
    _sig(
        "override_strong",
        "override",
        3,
        " " + _NEGATION_GUARD + _OV_SIMPLE + " " + _gap(4) + _QUAL + " " + _gap(2) + _META + " ",
        " " + _NEGATION_GUARD + _OV_SIMPLE + " " + _gap(3) + _PRIOR_THINGS + " ",
        # "ignore what the system told you", "oublie ce que le patron t'a demandé"
        " "
        + _NEGATION_GUARD
        + _OV_SIMPLE
        + r" (?:everything |all |tout )?(?:what|ce qu|ce que) (?:\S+ ){1,3}"
        + _w("""
            told you, said to you, gave you, instructed you, asked you, taught you, t a dit, t a demande,
            t a appris, t a donne, t a ecrit, t ont dit, t ont demande, t ont appris, t ont donne,
            t avait dit, t avaient dit
        """)
        + " ",
        " "
        + _NEGATION_GUARD
        + _OV_SIMPLE
        + " (?:"
        + _w("all, tout, everything, de, of, what came, ce qui est")
        + " )?"
        + _PRIOR_BARE
        + " (?:[|:]|"
        + _w("and, et, then, puis, ensuite, now, maintenant, instead")
        + ") ",
        " " + _NEGATION_GUARD + _OV_SIMPLE + " " + _gap(4) + _META + " " + _QUAL_AFTER + " ",
        " " + _OV_PHRASE + " " + _gap(4) + "(?:" + _META + "|" + _PRIOR_THINGS + ") ",
        need=_OV_SIMPLE + _OV_PHRASE,
    ),
    _sig(
        "override_weak",
        "override",
        2,
        " " + _NEGATION_GUARD + _OV_SIMPLE + " " + _gap(4) + _META + " ",
        need=_OV_SIMPLE,
    ),
    _sig(
        "unbound",
        "override",
        3,
        " "
        + _w("no longer, not, n es plus, n etes plus, plus, never, jamais, not even, aren t, isn t")
        + " "
        + _w("""
            bound by, tenu par, tenue par, tenu de respecter, tenue de respecter, lie par, liee par,
            limited by, limite par, limitee par, soumis a, soumise a, subject to, restricted by,
            constrained by, obliged to follow, oblige de suivre, obligee de suivre, required to follow,
            oblige de respecter, obligee de respecter
        """)
        + " "
        + _gap(2)
        + "(?:"
        + _META
        + "|policy|policies|politique|politiques) ",
    ),
    _sig(
        "instructions_changed",
        "override",
        2,
        " "
        + _w("your, tes, vos, ton, ta, the, les, all, toutes les, all your, toutes tes")
        + " "
        + _w(
            "instructions, consignes, rules, regles, orders, ordres, guidelines, directives, prompt, "
            "system prompt, programming, programmation"
        )
        + " "
        + _w("""
            have changed, has changed, have been updated, have been replaced, have been revoked,
            are revoked, are cancelled, are canceled, are void, are obsolete, no longer apply, ont change,
            a change, ont ete modifiees, ont ete mises a jour, ont ete remplacees, ont ete annulees,
            ont evolue, sont annulees, sont obsoletes, sont caduques, ne s appliquent plus,
            ne comptent plus, don t apply, do not apply, are outdated, sont perimees, have expired,
            ont expire
        """)
        + " ",
    ),
    _sig(
        "system_override",
        "override",
        2,
        " "
        + _w(
            "system, systeme, admin, administrator, administrateur, developer, developpeur, root, sudo, "
            "priority, prioritaire, security, securite, maintenance, operator, operateur"
        )
        + " "
        + _w("override, overrides, command, commande, directive, injection, takeover")
        + " ",
    ),
    _sig(
        "reveal",
        "reveal_prompt",
        3,
        " " + _REVEAL + " " + _gap(4) + _PROMPT_STRONG + " ",
        " "
        + _REVEAL_STRONG
        + " "
        + _gap(3)
        + _PROMPT_YOURS
        + " (?=[|:] |"
        + _w("""
            verbatim, word for word, in full, mot pour mot, en entier, entierement, integralement, here, ici,
            now, maintenant, to me, me, moi, a moi, at the start, at the beginning, au debut, dans, in, into,
            exactly, exactement, completely, please, stp, s il te plait, and, et, then, puis, before, avant,
            after, apres, first, d abord
        """)
        + " )",
        " "
        + _w("what, which")
        + " "
        + _w("were, are, was, is, exactly were, exactly are")
        + " "
        + _w("""
            you told, you instructed, you given, your instructions, your rules, your system prompt,
            your prompt, your guidelines, your directives, your initial instructions,
            your original instructions, your programming, your hidden instructions
        """)
        + " ",
        r" what (?:did|have|has) (?:\S+ ){1,2}(?:tell|told|instruct|instructed|give|given|program|programmed)"
        r" you ",
        " "
        + _w("quelles, quels, quel, quelle")
        + " "
        + _w("sont, est, etaient, etait")
        + " "
        + _w("tes, ton, ta")
        + r" (?:\S+ )?"
        + _w("instructions, consignes, regles, directives, prompt, configuration, programmation")
        + " ",
        " "
        + _w(
            "qu est ce qu on t a, que t a t on, qu est ce que l on t a, qu on t a, ce qu on t a, "
            "what you were, what you ve been, what you have been"
        )
        + " "
        + _w("dit, demande, donne, appris, programme, ecrit, told, instructed, given")
        + " ",
        need=_REVEAL + "what, which, quelles, quels, quel, quelle, dit, demande, donne, appris, programme, "
        "ecrit, told, instructed, given",
    ),
    _sig(
        "reveal_it",
        "reveal_prompt",
        1,
        _CLAUSE_START + _REVEAL_STRONG + " " + _w("les, la, le, l, them, it, those, ca, cela") + " ",
        need=_REVEAL_STRONG,
    ),
)
