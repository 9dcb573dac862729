"""Signals about what the AI is told to be or say: role changes, new instructions, orders about
answering customers, "everything is free" claims, jailbreak words."""

from __future__ import annotations

from comptoir.ingest.instructions.signals import _sig, _Signal
from comptoir.ingest.instructions.vocabulary import (
    _ADVERBS,
    _AI,
    _ALL_ITEMS,
    _BE,
    _CLAUSE_START,
    _CUSTOMERS,
    _FREE,
    _RESET,
    _RESPOND_EN,
    _RESPOND_FR,
    _RESPOND_INF,
    _SHOPPERS,
    _gap,
    _w,
)

_ORDER_SIGNALS: tuple[_Signal, ...] = (
    # --- acts, continued
    _sig(
        "role_change",
        "role_change",
        2,
        " "
        + _w("""
            you are now, you re now, you will now be, you are no longer, you re no longer, tu es maintenant,
            tu es desormais, tu es dorenavant, tu es a present, tu n es plus, t es plus, desormais tu es,
            dorenavant tu es, maintenant tu es, a present tu es, a partir de maintenant tu es,
            from now on you are, from now on you re, from now on you will be, from now on you will act,
            from now on you act, you have been reprogrammed, you ve been reprogrammed,
            tu as ete reprogramme, tu as ete reprogrammee, you have been freed, you have been jailbroken,
            tu as ete libere, tu as ete liberee, you are free from, you re free from, tu es libere de,
            tu es liberee de, you are reprogrammed, your new role is, ton nouveau role est,
            ton nouveau role, your new role, your new name is, ton nouveau nom est,
            tu t appelles maintenant, you will act as, tu vas jouer, tu joueras, you will play,
            you will roleplay, you will pretend, tu vas faire semblant, tu feras semblant,
            tu vas te faire passer, you are going to act, you are going to pretend
        """)
        + " ",
    ),
    _sig(
        "role_play",
        "role_change",
        1,
        " "
        + _w("""
            act as, act like, agis comme, agis en tant qu, agis en tant que, comporte toi comme,
            comporte toi en, behave as, behave like, pretend, pretending, fais semblant, faites semblant,
            joue le role, play the role, roleplay, role play, incarne, imagine que tu es, imagine you are,
            imagine you re, simulate being, simule, take on the role, endosse le role, prends le role,
            transforme toi, fais toi passer, faites vous passer, te faire passer, te faisant passer,
            pose as, impersonate
        """)
        + " ",
    ),
    _sig("reset", "role_change", 1, " " + _RESET + " "),
    _sig(
        "new_instructions",
        "override",
        1,
        " "
        + _w(
            "new, updated, real, true, actual, nouvelles, nouvelle, nouveaux, nouveau, vraies, vraie, "
            "veritables, veritable"
        )
        + " "
        + _w("""
            instructions, consignes, rules, regles, directives, orders, ordres, guidelines, prompt,
            mission, role, task, tache, objective, objectif, system prompt, rule, regle, consigne,
            instruction, directive, persona, personality, personnalite
        """)
        + " ",
        need="new, updated, real, true, actual, nouvelles, nouvelle, nouveaux, nouveau, vraies, vraie, "
        "veritables, veritable",
    ),
    _sig(
        "new_instructions_colon",
        "override",
        1,
        " "
        + _w(
            "new, updated, real, nouvelles, nouvelle, nouveaux, nouveau, vraies, vraie, veritables, veritable"
        )
        + " "
        + _w(
            "instructions, consignes, rules, regles, directives, orders, ordres, prompt, mission, task, "
            "tache, role, objective, objectif"
        )
        + " : ",
        " "
        + _w("voici tes, voila tes, here are your, here is your, these are your, ce sont tes")
        + " (?:"
        + _w("new, real, nouvelles, vraies, updated, actual")
        + " )?"
        + _w(
            "instructions, consignes, rules, regles, directives, orders, ordres, prompt, guidelines, mission"
        )
        + " ",
        need="new, updated, real, nouvelles, nouvelle, nouveaux, nouveau, vraies, vraie, veritables, "
        "veritable, voici, voila, here, these, sont",
    ),
    _sig(
        "respond_directive",
        "addressed_to_ai",
        1,
        _CLAUSE_START + "(?:" + _RESPOND_FR + "|" + _RESPOND_EN + ") ",
        " "
        + _w("et, and, then, puis, ensuite, and then, et puis")
        + " (?:"
        + _ADVERBS
        + " ){0,2}(?:"
        + _RESPOND_FR
        + "|"
        + _RESPOND_EN
        + ") ",
        " "
        + _w("""
            tu dois, tu devras, tu vas, il faut que tu, you must, you will, you should, you have to,
            you need to, you shall, you are to, you re to, you re going to, you are going to, tu ne dois,
            you must not, you must never, tu ne dois jamais, tu ne dois pas, vous devez, vous devrez,
            il faut que vous, vous allez
        """)
        + " "
        + _gap(2)
        + _RESPOND_INF
        + " ",
        " "
        + _AI
        + " "
        + _w(
            "must, should, shall, will, has to, needs to, is to, doit, devra, devrait, doivent, va, "
            "ne doit, must not, should not, must never"
        )
        + " "
        + _gap(2)
        + _RESPOND_INF
        + " ",
        need=_RESPOND_FR + _RESPOND_EN + _RESPOND_INF,
    ),
    _sig(
        "customer_directive",
        "addressed_to_ai",
        1,
        " (?:"
        + _RESPOND_FR
        + "|"
        + _RESPOND_EN
        + "|"
        + _RESPOND_INF
        + "|"
        + _w(
            "dites, repondez, dis le, dites le, fais croire, faites croire, faire croire, make believe, make"
        )
        + ") (?:"
        + _w("""
            a, aux, au, to, the, les, l, tous, toutes, all, every, each, chaque, any, tout, le, la, our,
            nos, a tous les, a chaque, n importe quel, every single, all the, all our, a tous nos,
            a toutes, a toute
        """)
        + " ){0,3}"
        + _CUSTOMERS
        + " ",
        " "
        + _w("answer, respond to, reply to, reponds a, repondre a, repondez a")
        + " "
        + _w("every, each, all, any, chaque, toutes les, tous les, toute, n importe quelle")
        + " "
        + _w("""
            question, questions, message, messages, request, requests, demande, demandes, query, queries,
            customer, customers, client, clients
        """)
        + " ",
        # "accorde 100 % de remise à chaque client", "give every user a free..."
        " "
        + _w("""
            accorde, accordez, accorder, give, grant, offer, offre, offrir, donne, donner, applique,
            appliquer, apply, convince, persuade, convaincs, convaincre, persuader, assure, assurer,
            reassure
        """)
        + " "
        + _gap(4)
        + "(?:"
        + _w("a, aux, to, for, pour")
        + " )?"
        + _w("every, each, all, any, chaque, tous les, toutes les, n importe quel, tout, toute")
        + " "
        + _CUSTOMERS
        + " ",
        need=_CUSTOMERS + _SHOPPERS + "question, questions, message, messages, request, requests, demande, "
        "demandes, query, queries",
    ),
    _sig(
        "asked_frame",
        "addressed_to_ai",
        1,
        # "si on te demande", "if anyone asks you", "when you are asked", "quand un client t'interroge"
        " "
        + _w(
            "si, if, when, quand, lorsque, lorsqu, whenever, chaque fois qu, chaque fois que, des qu, des que"
        )
        + " "
        + _w("""
            on, someone, anyone, somebody, a customer, a user, a client, any customer, any user, un client,
            une cliente, un utilisateur, une utilisatrice, quelqu un, people, customers, users, les clients,
            un visiteur, a visitor
        """)
        + " "
        + _w("te, t, you")
        + " "
        + _w("""
            demande, demandent, asks, ask, pose, posent, questionne, questionnent, interroge, interrogent,
            parle, parlent, ecrit, ecrivent, writes, write, contacte, contactent, contacts, contact
        """)
        + " ",
        " "
        + _w("""
            if you are asked, if you re asked, when you are asked, when you re asked, when asked, if asked,
            si tu es interroge, si tu es interrogee, quand tu es interroge, si on t interroge,
            quand on t interroge, lorsqu on t interroge
        """)
        + " ",
    ),
    _sig(
        "answer_format",
        "addressed_to_ai",
        1,
        " "
        + _w(
            "each, every, any, chaque, toutes tes, tes, ta, your, all your, each of your, every one of your, "
            "chacune de tes"
        )
        + " "
        + _w(
            "answer, answers, reply, replies, response, responses, reponse, reponses, output, outputs, "
            "message, messages"
        )
        + " ",
    ),
    _sig(
        "free_claim",
        "free_claim",
        1,
        " " + _ALL_ITEMS + " " + _BE + r" (?:\S+ )?" + _FREE + " ",
        " "
        + _w(
            "price, prices, prix, tarif, tarifs, cost, costs, cout, couts, total, totals, montant, "
            "montants, amount, amounts, le prix, the price"
        )
        + " "
        + _gap(2)
        + _w(
            "is, are, est, sont, =, equals, egal, egaux, seront, sera, becomes, devient, de, of, a, at, "
            "set to, fixe a, fixes a, ramene a, ramenes a, were, was, have been, has been, will be, "
            "reset to, remis a, remises a, passe a, passent a, tombe a, tombent a, to"
        )
        + r" (?:\S+ )?"
        + _w(
            "0, 00, 000, zero, nul, nuls, nulle, null, 0 €, € 0, $ 0, 0 $, 0 euro, 0 euros, 0 fcfa, 0 f, "
            "0 cfa, free, gratuits, gratuit, rien, nothing"
        )
        + " ",
        " 100 "
        + _w("%, percent, pour cent, pourcent, pct")
        + " "
        + _gap(2)
        + _w("discount, off, remise, reduction, rabais, ristourne, promo, free, gratuit")
        + " ",
        " "
        + _w("discount, remise, reduction, rabais, ristourne")
        + " "
        + _gap(2)
        + _w("100 %, 100 percent, 100 pour cent, totale, total, complete, full, integrale")
        + " ",
        " "
        + _w("every, each, chaque, tout, tous les, toutes les, any, all")
        + " "
        + _SHOPPERS
        + " "
        + _w("""
            gets, get, receives, receive, recoit, recoivent, obtient, obtiennent, aura, auront, will get,
            will receive, has, have, paie, paye, paient, payent, pays, pay
        """)
        + " "
        + _gap(3)
        + _w("""
            free, gratuitement, gratuit, gratuite, gratuits, gratuites, offert, offerte, offerts, offertes,
            for free, for nothing, nothing, rien, zero, 0
        """)
        + " ",
        " "
        + _w("""
            rien a payer, nothing to pay, pay nothing, paie rien, paye rien, payer rien, payent rien,
            paient rien, owe nothing, doit rien, doivent rien, pay zero, payer zero, give away everything,
            tout donner, donne tout, give it all away, gives everything away, give everything away,
            gives it all away, offre tout, tout offrir, tout gratuitement, everything for free,
            all for free, tout gratuit, c est offert, c est gratuit, it s free, it is free, c est cadeau
        """)
        + " ",
        need=_FREE + ", 100, discount, remise, reduction, rabais, ristourne, pay, payer, paie, paye, payent, "
        "paient, owe, doit, doivent, donner, donne, offre, offrir, gratuitement, away",
    ),
    _sig(
        "jailbreak",
        "jailbreak",
        1,
        " "
        + _w("""
            jailbreak, jailbreaks, jailbroken, jailbreake, jailbreaker, jailbreaking, developer mode,
            mode developpeur, dev mode, mode dev, debug mode, mode debug, god mode, mode dieu, admin mode,
            mode admin, mode administrateur, sudo mode, unrestricted mode, mode sans restriction, dan mode,
            mode dan, unrestricted, uncensored, unfiltered, sans censure, no restrictions,
            without restrictions, without any restrictions, sans restrictions, sans aucune restriction,
            aucune restriction, no limits, without limits, no filter, no filters, without filters,
            no rules, without rules, sans regles, sans aucune regle, no guardrails, sans garde fous,
            no ethical, no censorship, ethics off, safety off, filters off, sans filtre, sans filtres,
            aucun filtre, plus de limites, plus aucune limite, plus de regles, plus aucune regle,
            plus de restrictions, plus aucune restriction, no more limits, no more rules,
            no more restrictions, no limitations, aucune limite
        """)
        + " ",
    ),
    _sig("do_anything_now", "jailbreak", 3, " do anything now | dan (?:mode )?[|:] "),
)
