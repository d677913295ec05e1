"""Sentences of a material the offline generator may ask about: candidate sentences (complete,
self-contained body sentences, never captions, labels or headings), how much one carries an
idea, defining sentences and lists, and the small word-usage tests they rely on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from engine.domain import language as lang_
from engine.generation import lint as qlint
from engine.generation.offline_english import PREDICATE_BEFORE
from engine.generation.offline_german import finite_verb
from engine.generation.offline_layout import restarts, units
from engine.generation.offline_spanish import points_back
from engine.generation.references import without_references
from engine.generation.validation import clean_text
from engine.ingestion.cleaning import is_heading_line

PHRASE_OK = re.compile(r"^[^\W\d_][\w' -]*[^\W_]$|^[^\W\d_]$", re.UNICODE)
STOP_EDGE = frozenset(
    """a an and are as at be by for from has have in is it its of on or that
the their this to was were which with not but into than then also such these those our we
you your can may will one two""".split()
)
GENERIC = frozenset(
    """paper section figure table example case number way result results work
approach use time part parts thing things data set first second third fact order kind
type types form page chapter
beispiel beispiele abbildung tabelle kapitel abschnitt seite fall teil art weise zahl ergebnis
aufgabe folgenden beachte bsp bzw vorteile nachteile vorteil nachteil ziel ziele hinweis
exemple figure tableau chapitre section page cas partie façon nombre résultat
ejemplo figura tabla capítulo sección página caso parte forma número resultado tipo tipos""".split()
)
BACK_REFERENCE = frozenset(
    """it this these they that those he she such its their here there
then also both each another other his her them we our
dies diese dieser dieses diesem diesen das er sie es hier dort dann dabei dazu damit daher
ebenso außerdem beide solche hierbei hierzu hiermit hierfür hierin dafür darin darauf davon
dadurch somit
ce cette ces cela ceci il elle ils elles celui celle ici alors
este esta estos estas eso esto ello él ella ellos ellas aquí entonces""".split()
)
_CONNECTIVES = frozenset(
    """but and so yet however thus hence therefore moreover furthermore
instead still nevertheless otherwise consequently
aber und also doch jedoch somit daher deshalb dennoch trotzdem außerdem
mais et donc pourtant cependant ainsi
pero y así sin embargo por lo tanto además""".split()
)
_LAYOUT = re.compile(
    r"\b(above|below|as follows|following|shown in|see|cf\.|e\.g\.|i\.e\."
    r"|siehe|folgende[nrs]?|unten|oben|abbildung|abb\.|vgl\."
    r"|ci-dessous|ci-dessus|suivante?s?|voir|véase|siguiente)"
    r"|:\s*$",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"^(fig(ure)?|table|tab|abb(ildung)?|tabelle|tableau|figura|tabla|"
    r"listing|algorithm|algorithmus)\b\.?\s*\d*",
    re.IGNORECASE,
)
_SUBFIGURE = re.compile(r"\(\s*[a-h]\s*\)|\b[a-h]\)\s")
# Cues of a sentence that carries an idea: a definition, a cause, a contrast, a condition, a
# result ("X is/are/means", "because", "whereas", "if", "leads to"), per language.
_CONCEPT = {
    "en": r"\b(is|are) (an?|the|one|called|defined|known)\b|\b(means|refers to|denotes|consists of|"
    r"because|therefore|thus|hence|causes?|leads? to|results? in|whereas|unlike|instead of|"
    r"in contrast|if|unless|when|only if|so that|allows?|enables?|requires?|depends on)\b",
    "de": r"\b(ist|sind) (ein|eine|einer|der|die|das)\b|\b(bezeichnet|heißt|heißen|bedeutet|"
    r"versteht man|nennt man|besteht aus|weil|da|daher|deshalb|dadurch|führt zu|bewirkt|"
    r"während|im gegensatz|wenn|falls|sofern|damit|ermöglicht|erfordert|hängt .* ab)\b",
    "fr": r"\b(est|sont) (un|une|le|la|les|appelée?s?|défini)\b|\b(désigne|signifie|consiste|"
    r"parce que|car|donc|ainsi|entraîne|permet|alors que|tandis que|contrairement|si|"
    r"lorsque|quand|nécessite|dépend)\b",
    "es": r"\b(es|son) (un|una|el|la|los|las|llamad[oa]s?)\b|\b(significa|se llama|denota|"
    r"consiste|porque|por lo tanto|así|causa|provoca|permite|mientras que|a diferencia|"
    r"si|cuando|requiere|depende)\b",
}
_REFERENCE = re.compile(
    r"\b(pp\.|vol\.|proceedings|journal of|conference on|press|isbn|doi)\b"
    r"|\([A-Z][^()]{0,60}\d{4}[a-z]?\)|\b(19|20)\d{2}\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"[{}\[\]=;<>_#\\|\u2217\u00b7]|(?:\b\w ){3}")  # also s p a c e d code
# Defining sentences per language: "A typed trace is a trace ...", "Ein Zeiger ist eine
# Variable ...", "Unter Rekursion versteht man ...", "Une pile est une structure ...".
_TERM = r"(?P<term>[\w' -]{2,60}?)"
_DEFINING = {
    "en": [
        rf"^(?:(?:An?|The)\s+)?{_TERM}\s+(?P<verb>is|are|refers to|means|denotes|is used|"
        r"are used)\s+(?P<det>an?|the|one|to|for)\s+(?P<rest>.+)$"
    ],
    "de": [
        rf"^(?:(?:Eine|Ein|Der|Die|Das)\s+)?\"?{_TERM}\"?\s+(?P<verb>ist|sind|bezeichnet|heißt|"
        r"bedeutet)\s+(?P<det>eine|ein|einen|der|die|das|den)\s+(?P<rest>.+)$",
        # "Zeiger sind spezielle Variablen, mit denen ...": no article before a plural or a
        # mass noun, an adjective at most before it.
        rf"^\"?{_TERM}\"?\s+(?P<verb>ist|sind)\s+(?P<det>)"
        r"(?P<rest>(?-i:(?:[a-zäöü][\w-]*(?:e|en|er|es|em)\s+)?[A-ZÄÖÜ])[\w-]*[,\s].+)$",
        # "Knoten ohne Kinder heißen Blätter": the description first, then the name.
        rf"^(?P<rest>(?-i:[A-ZÄÖÜ])[^:;]{{6,160}}?)\s+(?P<verb>heißt|heißen|nennt man)\s+"
        rf"\"?{_TERM}\"?(?:\s*\([^()]*\))?(?P<det>)\.?$",
        rf"^Unter\s+(?:(?:einem|einer|dem|der|den)\s+)?{_TERM}\s+(?P<verb>versteht man)\s+"
        r"(?P<det>eine|ein|einen|die|den|das)\s+(?P<rest>.+)$",
    ],
    "fr": [
        rf"^(?:(?:Une|Un|Le|La|Les|L')\s*)?{_TERM}\s+(?P<verb>est|sont|désigne)\s+"
        r"(?P<det>une|un|le|la|les|des|l')\s*(?P<rest>.+)$"
    ],
    "es": [
        rf"^(?:(?:Una|Un|El|La|Los|Las)\s+)?{_TERM}\s+(?P<verb>es|son|significa)\s+"
        r"(?P<det>una|un|el|la|los|las)\s+(?P<rest>.+)$"
    ],
}
_DEFINING_RE = {
    lang: [re.compile(p, re.IGNORECASE) for p in patterns] for lang, patterns in _DEFINING.items()
}
# Determiners: a word after one of them is used as a noun.
_NOUN_BEFORE = {
    "en": frozenset(
        "a an the this that these those each every its their our of some any no".split()
    ),
    "fr": frozenset(
        "le la les un une des du au aux ce cet cette ces son sa ses leur leurs notre nos votre "
        "vos chaque".split()
    ),
    "es": frozenset(
        "el la los las un una unos unas del al este esta estos estas ese esa esos esas su sus "
        "cada nuestro nuestra".split()
    ),
}
# The same as alternations for one regular expression (longest first): one search of the text
# per word instead of listing every word before it.
_NOUN_BEFORE_RE = {
    lang: "|".join(sorted(words, key=len, reverse=True)) for lang, words in _NOUN_BEFORE.items()
}
_FINITE = {
    "en": re.compile(
        r"\b(is|are|was|were|has|have|had|can|cannot|must|will|does|do|may|"
        r"should|would|could|becomes?|means|needs?|gives?|makes?)\b",
        re.I,
    ),
    "de": re.compile(
        r"\b(ist|sind|war|waren|wird|werden|wurde|wurden|hat|haben|kann|"
        r"können|muss|müssen|soll|sollen|darf|dürfen|gibt|gilt|bedeutet|heißt|"
        r"braucht|macht|enthält|liefert|erzeugt|hängt)\b",
        re.I,
    ),
    "fr": re.compile(
        r"\b(est|sont|était|a|ont|peut|peuvent|doit|doivent|sera|permet|"
        r"donne|fait|contient)\b",
        re.I,
    ),
    "es": re.compile(
        r"\b(es|son|era|está|están|ha|han|puede|pueden|debe|deben|será|permite|"
        r"da|hace|contiene)\b",
        re.I,
    ),
}
_ENUMERATOR = re.compile(r"(?<=\S)\s+\d{1,2}[.)]\s+[a-zäöüß]")
# Words after which an English blank is a verb, not a noun ("we _____", "can _____"), and
# words a blank stands before when it is a verb taking an object ("_____ the time").
_VERB_BEFORE = frozenset(
    """we you they it he she i who which that can cannot must will may might should would could
does do did not even never always often usually""".split()
)
_JOIN_VERB = frozenset("and or to".split())
_CLAUSE_AFTER = frozenset("if unless when whenever once until".split())
_OBJECT_AFTER = frozenset("the a an this these those its their our his her each every".split())
# A number between a sentence's end and the next one's start (a rating scale), or bare between
# a lower-case word and a capitalised one (table cells read as one line).
_TABLE_NUMBER = re.compile(r"[.!?]\s+\d+\s+[A-Z]")
_CELL_NUMBER = re.compile(r"\b[a-z]+\s+\d{1,4}\s+[A-Z][a-z]")
_ITEM_BREAK = re.compile(
    "[\u2022\u25aa\u25cf\u25a0\u25e6\u2192\u27a2\uf0b7\u21d2]|(?<=\\s)[-\u2013](?=\\s)"
)
_BULLETS = re.compile("[\u2022\u25aa\u25cf\u25a0\u25e6\u2192\u27a2\uf0b7]")
WORDS_MIN, WORDS_MAX, CHARS_MAX = 8, 45, 280
# "the same" compares with something: inside the sentence ("the same type as", "both ... the
# same") or, without it, with what came before.
_SAME = re.compile(r"\bthe same\b", re.IGNORECASE)
_SAME_WITHIN = re.compile(r"\bthe same\b.*\b(?:as|that)\b|\b(?:both|each|all)\b", re.IGNORECASE)
# A manual's callout label glued to its text ("Tipp "netstat -an" bietet ...").
_CALLOUT = re.compile(
    r"^(?:Tipp?|Hinweis|Anmerkung|Warnung|Achtung|Note|Warning|Caution|Important|Remarque|"
    r"Attention|Avertissement|Nota|Consejo|Aviso|Advertencia)\s+[\"\u201c\u201eA-ZÄÖÜ]"
)
# A subject cut from its verb by a lone comma: no English sentence is written so (an inserted
# clause has two commas: "Self-efficacy, which was similar ..., was defined as").
_SUBJECT_COMMA_VERB = re.compile(
    r"[^,;:()]+, (?:is|are|was|were|has|have|had|can|could|will|would|may|must) "
)


def is_candidate(s: str, lang: str = "en", *, item: bool = False) -> bool:
    """A complete, self-contained body sentence fit to ask about: not a caption, a label, a
    heading or a fragment. With `item`, a whole bullet item that is a clause with a finite
    verb also counts without its full stop (lecture notes rarely write one)."""
    words = s.split()
    if not WORDS_MIN <= len(words) <= WORDS_MAX or len(s) > CHARS_MAX:
        return False
    if item and s[-1:].isalpha():
        if ":" in s or "?" in s or not has_finite(s, lang):
            return False
        s = s + "."
    if not s[:1].isupper() or s[-1] != "." or s.endswith(("et al.", "e.g.", "i.e.", "etc.")):
        return False
    if _points_back(words, lang) or restarts(words, lang) or _CALLOUT.match(s):
        return False
    if lang == "en" and _SAME.search(s) and not _SAME_WITHIN.search(s):
        return False  # "You can achieve the same effect with ...": the same as what came before
    if (
        qlint.has_marker(s)
        or qlint.has_mangled(s)
        or _LAYOUT.search(s)
        or _REFERENCE.search(s)
        or _CODE.search(s)
        or _BULLETS.search(s)
        or _CAPTION.match(s)
        or _SUBFIGURE.search(s)
    ):
        return False
    if sum(c.isalpha() or c.isspace() for c in s) / len(s) < 0.9:
        return False
    if any(unicodedata.category(ch) == "Sm" for ch in s):
        return False  # a formula or a notes' shorthand ("≊", "⇒"), not prose
    # Title Case runs are headings or captions; German capitalises every noun, so allow more.
    if sum(w[:1].isupper() for w in words[1:]) > (0.55 if lang == "de" else 0.3) * len(words):
        return False
    capitals = [w for w in words if w.isalpha() and w.isupper() and len(w) >= 4]
    if len(capitals) >= 3 or any(len(w) >= 9 for w in capitals):  # a header in capitals
        return False
    stop = lang_.stopwords(lang)
    if sum(w.casefold().strip(",;") in stop for w in words) < 0.15 * len(words):
        return False  # a label or list of terms, not prose
    for glued in re.finditer(r"[.:]\s+[a-z]", s):  # a caption or run-in heading glued on
        if not (
            glued.group(0)[0] == "." and lang_.ends_with_abbreviation(s[: glued.start() + 1], lang)
        ):
            return False
    if re.match(r"(\w+) \1\b", s):  # a heading glued to its paragraph ("Mozmill Mozmill is")
        return False
    if _ENUMERATOR.search(s):  # a list number glued into the sentence ("Namen 2. der ...")
        return False
    if _TABLE_NUMBER.search(s) or (lang != "de" and _CELL_NUMBER.search(s)):
        return False  # questionnaire or table text: "... mail. 2345 I need", "usefulness 1 Using"
    if lang == "de" and "," not in s and _FINITE["de"].match(s):
        return False  # "Wird der Name nicht gefunden.": a conditional clause without its main
    if lang == "en" and _SUBJECT_COMMA_VERB.match(s):
        return False  # "Swanson usefulness, was defined as": lines of two places run together
    return s.count("(") == s.count(")") and s.count("\u201c") == s.count("\u201d")


def has_finite(clause: str, lang: str) -> bool:
    """Whether a clause has a finite verb: one of the language's common ones, or a German
    verb in "-t" (see `offline_german.finite_verb`)."""
    if _FINITE[lang if lang in _FINITE else "en"].search(clause):
        return True
    return lang == "de" and finite_verb(clause)


def _points_back(words: list[str], lang: str = "en") -> bool:
    """Whether the sentence opens by pointing at what came before ("This...", "But these...",
    "However, it..."; in Spanish also "Se trata de ..." or "... de ellos"): asked alone, it
    would make no sense."""
    first = [w.casefold().strip(",") for w in words[:2]]
    if first[0] in BACK_REFERENCE or (lang == "es" and points_back(words)):
        return True
    return first[0] in _CONNECTIVES and len(first) > 1 and first[1] in BACK_REFERENCE


def sentences(text: str, lang: str = "en") -> list[str]:
    """Candidate sentences of a passage, headings, layout lines and reference lists left out;
    split by the language's rules (abbreviations such as "e.g." or "bzgl." do not end a sentence)."""
    out: list[str] = []
    stop = lang_.stopwords(lang)
    cut = False
    for para in re.split(r"\n\s*\n", without_references(text)):
        lines = [ln for ln in para.split("\n") if ln.strip()]
        body = [
            ln
            for i, ln in enumerate(lines)
            if not is_heading_line(ln, lines[i + 1] if i + 1 < len(lines) else None)
        ]
        # No sentence runs across a table line or past a line that ends its item.
        for unit in units(body, lang):
            found = _unit_sentences(" ".join(unit), lang)
            if cut and found and unit[0].strip().startswith(found[0][:20]):
                found = found[1:]  # the rest of a sentence a page ended in ("... wird vom")
            out.extend(found)
        last = re.findall(r"([^\W\d_]+)\s*$", para)
        cut = bool(last) and last[0].casefold() in stop and last[0][:1].islower()
    return out


def _unit_sentences(joined: str, lang: str) -> list[str]:
    """Candidate sentences of one unit of lines. Bullet items are units of their own: never
    glued to the text around them. In lecture notes a bulleted item is often a clause
    without its full stop: it counts when it is one whole clause (see `is_candidate`)."""
    out = []
    for k, item in enumerate(_ITEM_BREAK.split(joined)):
        pieces = lang_.split_sentences(clean_text(item), lang)
        bulleted = k > 0 or bool(_ITEM_BREAK.match(joined))
        for s in pieces:
            s = s.strip()
            whole_item = bulleted and len(pieces) == 1 and s[-1:].isalpha()
            if whole_item:
                s = item_clause(s)
            if is_candidate(s, lang, item=whole_item):
                out.append(s)
    return out


_RUN_IN = re.compile(r"^[^\W\d_][\w-]*(?: [\w-]+)?:\s+(?=\S)")


def item_clause(item: str) -> str:
    """A bullet item as a clause to ask about: a short run-in label ("Gegensatz: ...") left
    off, the first letter capitalised (notes often start items in lower case). Both keep
    the text a case-insensitive quote of the source."""
    item = _RUN_IN.sub("", item, count=1)
    return item[:1].upper() + item[1:]


def as_sentence(text: str) -> str:
    """A candidate as a sentence to show: a bullet clause gets its full stop."""
    return text if text[-1:] in ".!?" else text + "."


def concept_score(sentence: str, lang: str = "en") -> float:
    """How much the sentence carries an idea (a definition, cause, contrast, condition or
    result) rather than reporting a detail: 0, 0.5 or 1."""
    cues = re.findall(_CONCEPT.get(lang, _CONCEPT["en"]), sentence, re.IGNORECASE)
    return min(1.0, 0.5 * len(cues))


def author_names(first_page: str) -> set[str]:
    """Capitalised words of the first page's header block (authors, affiliations), which must
    never become answers or options."""
    names: set[str] = set()
    for line in first_page.split("\n")[1:25]:
        if re.match(r"\s*(abstract|introduction|1\.?\s+introduction)\b", line, re.IGNORECASE):
            break
        if "," in line or "@" in line or qlint._AFFILIATION.search(line) or len(line) < 60:
            names.update(w for w in re.findall(r"\b[A-Z][a-z]{1,20}\b", line))
    return names


def noun_like(word: str, text: str, lang: str = "en") -> bool:
    """A single word used as a noun somewhere: after a determiner of the material's language
    (in French also an elided one: "l'extension"), an acronym, or written with a capital in
    mid-sentence (a name; any noun in German)."""
    if word.isupper() and len(word) > 1:
        return True
    w = re.escape(word)
    if word[:1].isupper() and re.search(rf"\b[a-z\u00e0-\u00ff]+[,;]?\s+{w}(?![\w-])", text):
        return True
    if word.endswith("ly"):
        return False
    if lang == "fr" and re.search(rf"(?<![\w-])[ld]['’]{w}(?![\w-])", text, re.IGNORECASE):
        return True
    determiners = _NOUN_BEFORE_RE.get(lang, _NOUN_BEFORE_RE["en"])
    return re.search(rf"(?<!\w)(?:{determiners})\s+{w}(?![\w-])", text, re.IGNORECASE) is not None


def heads_phrase(word: str, text: str, stop: Collection[str]) -> bool:
    """Whether the word stands as a noun of its own somewhere: it ends its phrase (before a
    function word or punctuation: "the system is", "machine code."), and not as a predicate
    ("is important."); an adjective stands only before a noun ("an important factor")."""
    alone = rf"(?<![\w-])([^\W\d_]+)\s+{re.escape(word)}(?:\s+([^\W\d_]+)|\s*[^\w\s-]|\s*$)"
    return any(
        before.casefold() not in PREDICATE_BEFORE and (not nxt or nxt.casefold() in stop)
        for before, nxt in re.findall(alone, text, re.IGNORECASE)
    )


def _defining(sentence: str, lang: str) -> re.Match[str] | None:
    for pattern in _DEFINING_RE.get(lang, _DEFINING_RE["en"]):
        m = pattern.match(sentence)
        if m:
            return m
    return None


def verb_slot(sentence: str, m: re.Match[str], lang: str) -> bool:
    """Whether an English blank at `m` stands where a verb does: after a subject pronoun or a
    modal, or right before a determiner (its object)."""
    if lang != "en":
        return False
    before = re.findall(r"([^\W\d_]+)\s*$", sentence[: m.start()])
    after = re.findall(r"^ ([^\W\d_]+)", sentence[m.end() :])
    if before and after and before[0].casefold() in _JOIN_VERB:
        # "... must guard on it, and _____ if it fails": a bare singular between a
        # conjunction and a clause is a verb ("side exit" used as a verb).
        blank = m.group(0)
        if after[0].casefold() in _CLAUSE_AFTER and blank.islower() and not is_plural(blank):
            return True
    return bool(
        (before and before[0].casefold() in _VERB_BEFORE)
        or (after and after[0].casefold() in _OBJECT_AFTER)
    )


def defined_term(sentence: str, text: str, lang: str = "en") -> str | None:
    """The term a defining sentence ("A typed trace is a trace annotated ...", "Unter
    Rekursion versteht man ...") defines, when the material mentions it again."""
    m = _defining(sentence, lang)
    if not m:
        return None
    subject = m.group("term").strip()
    words = subject.split()
    stop = lang_.stopwords(lang) | STOP_EDGE
    if not 1 <= len(words) <= 4 or words[0].casefold() in GENERIC | stop | {"every"}:
        return None
    if any(w.casefold() in GENERIC | BACK_REFERENCE | stop for w in words):
        return None
    if lang == "de" and not words[-1][:1].isupper():
        return None  # a German term ends in a (capitalised) noun
    # "A product is a consumer product regardless of ...": the predicate names a kind of the
    # subject (a claim about it), not what the subject is.
    kind_of = rf"(?:[^\W\d_][\w-]*\s+){{1,2}}{re.escape(subject)}(?![\w-])"
    if re.match(kind_of, m.group("rest"), re.IGNORECASE):
        return None
    mentions = len(re.findall(rf"(?<![\w-]){re.escape(subject)}(?![\w-])", text, re.IGNORECASE))
    return subject if mentions >= 2 else None


def definition_of(sentence: str, lang: str = "en") -> str:
    """What a defining sentence says its term is ("A trace annotated with ..."), from its
    article on, capitalised; its full stop kept."""
    m = _defining(sentence, lang)
    if m is None:
        raise ValueError(f"not a defining sentence: {sentence!r}")
    sep = "" if m.group("det").endswith("'") else " "
    predicate = f"{m.group('det')}{sep}{m.group('rest')}" if m.group("det") else m.group("rest")
    if m.group("verb").casefold().endswith("used"):
        predicate = f"Used {predicate}"
    return predicate[:1].upper() + predicate[1:]


def is_plural(term: str) -> bool:
    last = term.split()[-1].casefold()
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def find_term(term: str, sentence: str) -> re.Match[str] | None:
    """The term as a word of the sentence: not part of a longer word, a hyphenated one or a
    file name ("Makefile" of "Makefile.am")."""
    return re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-]|\.\w)", sentence, re.IGNORECASE)
