"""Folding and tokens, and the word lists the signals are made of (all folded).

A sentence is folded (case, accents, apostrophes) then written as tokens between single spaces with
clause marks, so every pattern below is a plain alternation of folded words with bounded gaps.
"""

from __future__ import annotations

import re
import unicodedata

# ---------------------------------------------------------------- folding and tokens

_PRE = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_DECIMAL = re.compile(r"(?<=\d)[.,](?=\d)")
_TOKEN = re.compile(r"[a-z]+|[0-9]+|[%€$:]|[|;,()\[\]{}\"«»“”!?—–/=]|(?<!\S)-(?!\S)")


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.translate(_PRE))
    return _COMBINING.sub("", text).casefold()


def _tokens(folded: str) -> str:
    """' | tok tok : tok | ': words between single spaces, ':' kept, other punctuation as '|'."""
    out = ["|"]
    for tok in _TOKEN.findall(_DECIMAL.sub("", folded)):
        if not (tok[0].isalnum() or tok in "%€$:"):
            tok = "|"
        if tok in "|:" and out[-1] in "|:":
            if tok == ":":
                out[-1] = ":"
            continue
        out.append(tok)
    if out[-1] not in "|:":
        out.append("|")
    return " " + " ".join(out) + " "


def _w(words: str) -> str:
    """An alternation of the comma-separated words or phrases of `words` (folded), longest first."""
    items = {re.escape(" ".join(item.split())).replace("\\ ", " ") for item in words.split(",")} - {""}
    return "(?:" + "|".join(sorted(items, key=len, reverse=True)) + ")"


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _gap(n: int) -> str:
    return rf"(?:\S+ ){{0,{n}}}"


# ---------------------------------------------------------------- vocabulary (folded)

# a person's job, not a program: "assistant de direction", "assistant commercial", "assistant to the CEO"
_HUMAN_ASSISTANT = _w("""
    de direction, de la direction, du directeur, de la directrice, du dg, de gestion, de vente, de ventes,
    de production, de laboratoire, de recherche, de projet, de projets, de soins, d education,
    de vie scolaire, de communication, d achat, d achats, de magasin, de rayon, du chef, de chef,
    du pharmacien, en pharmacie, dentaire, commercial, commerciale, commerciaux, administratif,
    administrative, administratifs, personnel, medical, medicale, juridique, comptable, technique,
    maternel, maternelle, maternels, social, sociale, pedagogique, manager, managers, director, to, chef,
    coach, professor, professeur, veterinaire, logistique, rh, hr, marketing, parlementaire,
    d exploitation, de gerance, store manager, sales, pharmacist
""")
# "ai" is also the French verb (j'ai, n'ai, l'ai...): not after those elisions
_AI_VERB_GUARD = "".join(f"(?<! {p} )" for p in ("j", "n", "l", "m", "t", "y", "s", "qu"))
_AI = (
    "(?:"
    + _w("""
        ia, ias, i a, llm, llms, chatgpt, chatbot, chatbots, bot, bots, gpt, openai, copilot,
        intelligence artificielle, intelligences artificielles, artificial intelligence,
        language model, language models, large language model, modele de langage, modeles de langage,
        modele d ia, modeles d ia, modele ia, modeles ia, modele d ai, modele linguistique,
        agent ia, agents ia, agent ai, agent conversationnel, agents conversationnels, agent virtuel,
        agents virtuels, assistante virtuelle, assistantes virtuelles, assistante ia, assistante ai,
        assistante numerique, assistant virtuel, assistants virtuels, virtual assistant,
        virtual assistants, ai model, ai models, ai assistant, ai assistants, ai agent, ai agents,
        ai system, ai systems, robot conversationnel, robots conversationnels, conversational agent,
        conversational agents, conversational ai, chat bot, chat bots
    """)
    + rf"|(?:assistant|assistants)(?! {_HUMAN_ASSISTANT} )|{_AI_VERB_GUARD}ai(?! je )"
    + ")"
)
_TU = r" (?:tu|toi|te|ton|ta|tes|t(?! (?:il|elle|on|ils|elles) )) "
_YOU = r" (?:you|your|yours|yourself) "

_META = _w("""
    instructions, instruction, consignes, consigne, regles, regle, rules, rule, directives, directive,
    guidelines, guideline, guidance, prompt, prompts, system prompt, prompt systeme, policy, policies,
    restrictions, limitations, contraintes, constraints, programming, programmation, training,
    conditioning, guardrails, garde fous, filters, filtres, orders, ordres, commands, briefing, script,
    persona, setup, cadre, parametres, settings, configuration, reglement
""")
_QUAL = _w("""
    previous, prior, earlier, preceding, above, initial, original, system, systeme, hidden, your, yours,
    tes, ton, ta, t, precedentes, precedente, precedents, precedent, anterieures, anterieurs, anterieure,
    ci dessus, initiales, initiaux, d origine, all previous, all prior, all the previous, all your
""")
_QUAL_AFTER = _w("""
    precedentes, precedente, precedents, anterieures, anterieurs, ci dessus, initiales, d origine, above,
    before, so far, given, received, you were given, you received, you have received, you ve received,
    you got, systeme, system, qui precedent, qui precede, that precede, that precedes, preceding this,
    above this, before this, avant celle ci, avant cette ligne, plus haut, la haut, qu on t a donnees,
    qu on t a donne, que tu as recues, que tu as recu
""")
_PRIOR_THINGS = _w("""
    ce qu on t a dit, ce que l on t a dit, ce qu on t a demande, ce qu on t a donne, ce qu on t a appris,
    ce qu on t a ecrit, ce que tu as lu, ce qui precede, tout ce qui precede, ce qui est au dessus,
    ce qui est ecrit au dessus, ce qui est ecrit plus haut, ce qui est ci dessus, everything above,
    everything before, everything prior, anything above, anything before, all of the above,
    what you were told, what you ve been told, what you have been told, what you were given,
    what came before, everything you were told, everything you ve been told, your training,
    your programming, ta programmation, ton entrainement, your guidelines, your rules, your instructions,
    tes instructions, tes consignes, tes regles, tes directives, your directives, ton prompt, your prompt,
    your system prompt, ton prompt systeme
""")
# "disregard the above": only as the whole object ("ignorez l'adresse ci-dessus" is an erratum)
_PRIOR_BARE = _w("""
    ci dessus, plus haut, la haut, the above, above, all prior, all previous, your previous,
    tes precedentes, the previous, the prior, previous, prior, before, avant
""")
_OV_SIMPLE = _w("""
    ignore, ignores, ignorer, ignorez, ignoring, forget, forgets, forgetting, disregard, disregards,
    disregarding, oublie, oublies, oublier, oubliez, override, overrule, overwrite, bypass, circumvent,
    contourne, contourner, contournez, neglige, negliger, negligez, outrepasse, outrepasser, outrepassez,
    discard, dismiss, drop, skip, abandon, abandonne, abandonner, annule, annuler, efface, effacer,
    effacez, erase, wipe, reset, reinitialise, supersede, replace, remplace, remplacer, laisse tomber,
    laissez tomber, throw away, throw out, set aside, put aside, mets de cote, fais abstraction de,
    faites abstraction de, fais fi de, faites fi de, passe outre, passez outre, pay no attention to,
    do not follow, don t follow, dont follow, do not obey, don t obey, do not apply, ne suis pas,
    ne suivez pas, ne respecte pas, ne respectez pas, n obeis pas, n applique pas, ne pas suivre,
    ne pas respecter, ne pas appliquer
""")
_NEGATION_GUARD = "".join(
    f"(?<! {p} )" for p in ("n", "ne", "pas", "not", "never", "jamais", "don t", "dont", "do not", "plus")
)
_OV_PHRASE = _w("""
    ne tiens plus compte, ne tiens pas compte, ne tenez plus compte, ne tiens surtout pas compte,
    sans tenir compte, ne prends plus en compte, ne prends pas en compte, ne prenez plus en compte,
    ne suis plus, ne suivez plus, ne respecte plus, ne respectez plus, n obeis plus, n obeissez plus,
    n applique plus, stop following, stop obeying, stop applying, no longer follow, no longer obey,
    no longer apply, cesse de suivre, arrete de suivre, cesse d obeir, arrete d obeir, cesse d appliquer,
    arrete d appliquer, cesse de respecter, arrete de respecter
""")
# verbs that only an attack uses on "your instructions"; the others also ask a customer to write some
_REVEAL_STRONG = _w("""
    reveal, print, show, display, output, repeat, copy, paste, leak, dump, recite, echo, quote, spell,
    transcribe, expose, disclose, translate, regurgitate, affiche, afficher, montre, montrer, revele,
    reveler, revelez, recopie, recopier, recopiez, copie, copier, repete, repeter, repetez, divulgue,
    divulguer, divulguez, imprime, imprimer, cite, citer, transcris, transcrire, colle, coller, recrache,
    reproduis, reproduire, traduis, traduire, devoile, devoiler, devoilez, respond with, reply with,
    answer with, reponds avec, reponds par, start with, begin with, commence par
""")
_REVEAL = (
    "(?:"
    + _REVEAL_STRONG
    + "|"
    + _w("""
        write, give, tell, share, send, include, insert, prepend, append, return, put, provide, start,
        begin, type, list, summarize, summarise, ecris, ecrire, ecrivez, donne, donner, donnez, dis, dire,
        dites, partage, partager, partagez, liste, lister, resume, resumer, envoie, envoyer, envoyez,
        insere, inserer, ajoute, ajouter, mets, mettre, commence, commencer, debute, fournis, fournir,
        communique, communiquer, transmets, transmettre, affichez, montrez, copiez, imprimez, citez,
        collez, listez, sharing, showing, printing, revealing, repeating, copying, displaying, telling,
        giving, outputting, writing, disclosing, leaking, reciting
    """)
    + ")"
)
_SECRET_ADJ = _w("""
    hidden, secret, initial, original, system, systeme, cachees, cachee, caches, secretes, secrete,
    initiales, initiaux, originales, d origine, de depart, internal, internes
""")
_RULE_NOUN = _w("instructions, consignes, regles, rules, directives, guidelines, configuration")
_DET = _w("tes, ton, ta, your, t, the, les, le, la, all, toutes les, tous les, toutes tes, all your")
# what only the AI has: its prompt, its hidden or initial instructions, the text above this one
_PROMPT_STRONG = (
    "(?:"
    + _w("""
        system prompt, prompt systeme, prompt system, prompt du systeme, pre prompt, preprompt,
        system message, message systeme, message du systeme, system instructions, instructions systeme,
        instructions du systeme, consignes du systeme, regles du systeme, initial prompt, prompt initial,
        meta prompt, hidden prompt, prompt cache, developer message, message developpeur,
        everything above, tout ce qui precede, the text above, the words above, the lines above,
        the message above, le texte ci dessus, le texte precedent, le texte au dessus,
        les lignes ci dessus, les lignes precedentes, les mots ci dessus, le message ci dessus,
        le debut de cette conversation, le debut de la conversation, the beginning of this conversation,
        the start of this conversation, your first message, ton premier message, what you were told,
        ce qu on t a dit
    """)
    + r"|(?:ton|ta|tes|your|t|this|the|le|ce|full|entire|complete|whole|initial|hidden|secret|original|exact)"
    r" (?:\S+ )?prompts?(?! (?:delivery|service|response|reply|payment|answer|shipping|attention|action) )"
    + rf"|{_DET} (?:\S+ )?{_SECRET_ADJ} (?:{_RULE_NOUN}|messages?|parametres|settings|notes|text|texte"
    + r"|content|contenu)"
    + rf"|{_DET} (?:\S+ )?{_RULE_NOUN} {_SECRET_ADJ}"
    + ")"
)
# "your instructions" is also what a customer writes for the driver: only with a strong verb
_PROMPT_YOURS = (
    r"(?:tes|ton|ta|your|t) (?:(?:exact|exactes|full|complete|completes|entire|real|vraies|current"
    r"|actuelles|base|first|premieres|own|propres) )?"
    + _w("""
        instructions, consignes, regles, rules, directives, guidelines, configuration, config, programming,
        programmation, contexte, context, training data, donnees d entrainement, system, systeme
    """)
)
_RESPOND_FR = _w("""
    reponds, dis, ecris, annonce, affirme, indique, explique, precise, confirme, assure, promets, mens,
    invente, pretends, declare, certifie, garantis, raconte, informe, mentionne, signale, commence,
    termine, debute, finis, conclus, dites, repondez, annoncez, affirmez, pretendez, mentez, inventez,
    promettez, certifiez
""")
_RESPOND_EN = _w("""
    answer, respond, reply, say, tell, claim, state, insist, output, print, write, mention, inform,
    announce, assure, promise, confirm, declare, explain, greet, begin, start, end, finish, prefix, lie
""")
_RESPOND_INF = _w("""
    repondre, dire, affirmer, annoncer, ecrire, reveler, afficher, ignorer, oublier, pretendre, indiquer,
    preciser, confirmer, informer, mentionner, refuser, repeter, recopier, promettre, mentir, appliquer,
    accorder, offrir, answer, respond, reply, say, tell, claim, state, write, reveal, print, output,
    ignore, forget, pretend, act, behave, obey, comply, inform, mention, refuse, repeat, include, start,
    begin, end, lie, promise, offer, give, grant
""")
_ADVERBS = _w("""
    always, never, only, now, then, also, and, just, simply, please, et, puis, ensuite, aussi, toujours,
    jamais, desormais, maintenant, alors, donc, surtout, s il te plait, stp, enfin, finally, mais, but,
    ne, n, don t, do not, dont, uniquement, seulement, systematiquement, systematically, instead, plutot,
    a la place
""")
_CUSTOMERS = _w("""
    customer, customers, client, clients, cliente, clientes, user, users, utilisateur, utilisateurs,
    utilisatrice, utilisatrices, visitor, visitors, visiteur, visiteurs, acheteur, acheteurs, buyer,
    buyers, people, everyone, everybody, tout le monde, les gens, interlocuteur, interlocuteurs, human,
    humans, humain, humains, shopper, shoppers, lui, leur, them, him, her, quiconque, anyone, whoever
""")
_SHOPPERS = _w("""
    customer, customers, client, clients, cliente, clientes, user, users, utilisateur, utilisateurs,
    visitor, visitors, visiteur, visiteurs, acheteur, acheteurs, buyer, buyers, shopper, shoppers
""")
_IMPERATIVES = _w("""
    reponds, dis, ecris, affiche, recopie, copie, montre, revele, annonce, affirme, indique, repete,
    commence, termine, ajoute, explique, ignore, oublie, fais, agis, joue, deviens, mens, invente,
    pretends, precise, confirme, assure, promets, insiste, refuse, accorde, applique, obeis, parle, cite,
    mentionne, traduis, presente, considere, garantis, certifie, declare, raconte, informe, imprime,
    divulgue, partage, transmets,
    dites, repondez, ecrivez, affichez, recopiez, montrez, revelez, annoncez, affirmez, repetez, ignorez,
    oubliez, agissez, mentez, inventez, pretendez, promettez, accordez, citez, commencez, terminez,
    forget, disregard, say, tell, answer, respond, reply, write, print, output, reveal, show, display,
    copy, repeat, paste, recite, act, pretend, behave, become, include, add, start, begin, end, claim,
    insist, confirm, give, obey, treat, assume, inform, announce, state, mention, translate, refuse, deny,
    promise, grant, greet, prepend, append, lie, roleplay
""")
_ALL_ITEMS = (
    "(?:"
    + _w("""
        everything, anything, all, tout, it all, all of it, tout le catalogue, tout le magasin,
        toute la boutique, the whole catalog, the whole catalogue, the whole store, the whole shop,
        the entire catalog, the entire store, our prices, nos prix, les prix, the prices, prices,
        all prices, tous les prix, tous nos prix, le catalogue, the catalogue, the catalog, our catalogue,
        our catalog, notre catalogue, la boutique, the shop, the store, le magasin, les produits,
        les articles, nos produits, nos articles, the products, the items, our products, our items
    """)
    + r"|(?:all|all our|all the|every|each|any|tous les|toutes les|tous nos|toutes nos|chaque|n importe quel"
    r"|n importe quelle) (?:\S+ )?"
    + _w("""
        products, product, items, item, articles, article, produits, produit, orders, order, commandes,
        commande, services, service, prestations, prestation, purchases, purchase, achats, achat, prices,
        price, prix, offers, offres, references
    """)
    + ")"
)
_FREE = _w("""
    free, gratuit, gratuits, gratuite, gratuites, offert, offerts, offerte, offertes, 0, 00, 000, 0 €,
    € 0, 0 $, $ 0, zero, nul, nuls, nulle, nulles, a 0, at 0, a zero, at zero, free of charge, sans frais,
    complimentary, 0 euro, 0 euros, 0 fcfa, 0 f, 0 cfa, nothing, rien
""")
_BE = _w("""
    is, are, will be, becomes, become, est, sont, seront, sera, devient, deviennent, is now, are now,
    est maintenant, sont maintenant, sont desormais, est desormais, now, coute, coutent, cost, costs, =,
    equals, egal, egaux, egale, egales, vaut, valent
""")
_RESET = _w("""
    from now on, from this point, from this moment, starting now, henceforth, going forward, from here on,
    a partir de maintenant, a partir de ce moment, a partir d ici, desormais, dorenavant, des maintenant,
    des a present, jusqu a nouvel ordre, until further notice, for the rest of this conversation,
    for the rest of the conversation, pour le reste de la conversation, pour toute la conversation,
    pour la suite de cette conversation, pour la suite de la conversation, for every conversation,
    dans toutes tes reponses, in all your answers, in every answer, in all your replies,
    pendant toute la conversation, pendant toute cette conversation, tout au long de la conversation,
    during the whole conversation, throughout the conversation, throughout this conversation,
    for the whole conversation, for this whole conversation
""")
_CLAUSE_START = r"[|:] (?:" + _ADVERBS + " ){0,3}"
